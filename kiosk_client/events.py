"""The kiosk's log: one JSON line per event, which journald keeps and a script can read."""

from __future__ import annotations

import json
import logging

log = logging.getLogger("badge_kiosk")


def log_event(event: str, **fields: object) -> None:
    """One JSON line per state change or error. Never a badge payload or a token."""
    log.info(json.dumps({"event": event, **fields}, ensure_ascii=False))
