"""ASGI middleware every response passes through: security headers and request size limits.

Plain ASGI classes rather than ``@app.middleware("http")`` functions: those wrap every request
in extra tasks and streams, which the load benchmark measured as a sixth of the server's CPU.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 64 * 1024
# Uploads get more room than API bodies: a district's roster, an app icon (with its form).
UPLOAD_LIMITS = {"/staff/admin/roster": 100 * 1024 * 1024, "/staff/admin/apps/save": 512 * 1024}
# Every script and style is served by this package (no CDN), so the pages can forbid all
# others: an injected <script> or a framing page gets nowhere. Inline style attributes carry
# per-student colours, hence 'unsafe-inline' for styles only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Launch codes travel in URLs; no page may leak its address to an app's site.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # The scanner page asks for the camera; nothing else may.
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimit:
    """Refuses request bodies over the path's limit with 413: an announced Content-Length at once,
    a chunked body as soon as it grows past the limit (so memory stays bounded either way)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed = UPLOAD_LIMITS.get(scope["path"], MAX_BODY_BYTES)
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > allowed):
            await _refuse(send, allowed)
            return
        received = 0
        started = refused = False

        async def counting_receive() -> Message:
            # Past the limit: answer 413 ourselves, and tell the app the client has gone (which
            # is how it stops reading); whatever it answers then is dropped.
            nonlocal received, started, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > allowed:
                    refused = True
                    if not started:
                        started = True
                        await _refuse(send, allowed)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, tracking_send)


async def _refuse(send: Send, allowed: int) -> None:
    body: dict[str, Any] = {
        "error": {"code": "malformed_request", "message": f"request body is larger than {allowed} bytes"}
    }
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
