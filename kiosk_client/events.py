"""The kiosk's log: one JSON line per event, which journald keeps and a script can read."""

from __future__ import annotations

import json
import logging

log = logging.getLogger("badge_kiosk")


def log_event(event: str, **fields: object) -> None:
    """One JSON line per state change or error. Never a badge payload, a token or a hand-off URL."""
    log.info(json.dumps({"event": event, **fields}, ensure_ascii=False))


def log_warning(event: str, **fields: object) -> None:
    """The same JSON line, at warning level: something IT should look at (an old server)."""
    log.warning(json.dumps({"event": event, **fields}, ensure_ascii=False))
