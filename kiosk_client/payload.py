"""The kiosk recognises our badges locally (DESIGN.md): the one definition is the server's
payload module, which has no dependencies, so the kiosk uses it as is."""

from badge_server.payload import looks_like_badge

__all__ = ["looks_like_badge"]
