"""What the server's logs may say about a request's path: launch and hand-off codes travel in
URLs (``/launch/<code>``, ``/handoff/<code>``) and sign a child in within their minute, and a staff
invitation's secret is its link (``/staff/invite/<token>``), so no log line carries them."""

from __future__ import annotations

import logging
import re

_SECRET_IN_PATH = re.compile(r"^/(launch|handoff|staff/invite)/[^/?#]+")


def loggable_path(path: str) -> str:
    """``path`` with any code in it replaced by ``…``."""
    return _SECRET_IN_PATH.sub(r"/\1/…", path)


class RedactCodes(logging.Filter):
    """For uvicorn's access log, whose records carry (client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], loggable_path(args[2]), *args[3:])
        return True


def redact_access_log() -> None:
    """Install the filter on uvicorn's access logger (once; called where the server starts)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactCodes) for f in access.filters):
        access.addFilter(RedactCodes())
