"""ASGI middleware every response passes through: security headers and request size limits.

Plain ASGI classes rather than ``@app.middleware("http")`` functions: those wrap every request
in extra tasks and streams, which the load benchmark measured as a sixth of the server's CPU.
"""

from __future__ import annotations

import asyncio
import json
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from badge_server.errors import ServerBusy

MAX_BODY_BYTES = 64 * 1024
# A request body must have arrived this long after its headers. Bodies are read before the
# request counts against the in-flight limit, so slow senders cannot fill it (see InFlightLimit).
BODY_SECONDS = 10
# Uploads get more room than API bodies: a district's roster, an app icon (with its form).
UPLOAD_LIMITS = {"/staff/admin/roster": 100 * 1024 * 1024, "/staff/admin/apps/save": 512 * 1024}
# Every script and style is served by this package (no CDN), so the pages can forbid all
# others: an injected <script> or a framing page gets nowhere. Inline style attributes carry
# per-student colours, hence 'unsafe-inline' for styles only. 'wasm-unsafe-eval' lets the
# scanner's decoder (zxing-cpp as WebAssembly, served from here) compile; it allows no eval().
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
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
        if length is not None and (not (length.isascii() and length.isdigit()) or int(length) > allowed):
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


class InFlightLimit:
    """Sheds load: past ``limit`` requests in progress in this process, answer 503 + Retry-After
    at once. Without it an overloaded server queued requests without bound, answered them after
    the clients had given up, and served almost nobody (measured: 1 of 813 sign-ins at 83/s).
    Kiosks and the scanner page treat 503 as "trying again" and come back a moment later.

    A request counts only once its body has arrived (within ``BODY_SECONDS``, else 408): 33
    sockets sending a body one byte at a time used to hold every place, and every other request
    got a 503 while /healthz said all was well. Bodies are small (64 KB at most, read here into
    memory); uploads, whose routes check who is asking before they read, pass straight on.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0  # one event loop per process: no lock needed

    @property
    def saturated(self) -> bool:
        return self.in_flight >= self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/healthz":
            scope.setdefault("state", {})["in_flight"] = self
            await self.app(scope, receive, send)
            return
        if scope["path"] not in UPLOAD_LIMITS:
            received = await _whole_body(receive)
            if received is None:
                await _answer(
                    send, 408, "malformed_request", f"the request body did not arrive within {BODY_SECONDS} s"
                )
                return
            receive = received
        if self.saturated:
            busy = ServerBusy()
            scope.setdefault("state", {})["error_code"] = busy.code  # for the request's log line and metrics
            await _answer(send, busy.status, busy.code, busy.message, retry_after=busy.retry_after)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


async def _whole_body(receive: Receive) -> Receive | None:
    """Read the request's body now (bounded: past MAX_BODY_BYTES the rest is left for
    BodySizeLimit to refuse), and return a receive that replays it; ``None`` if it was late."""
    messages: list[Message] = []
    size = 0
    deadline = time.monotonic() + BODY_SECONDS
    while True:
        try:
            message = await asyncio.wait_for(receive(), timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            return None
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False) or size > MAX_BODY_BYTES:
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


async def _refuse(send: Send, allowed: int) -> None:
    await _answer(send, 413, "malformed_request", f"request body is larger than {allowed} bytes")


async def _answer(send: Send, status: int, code: str, message: str, retry_after: int | None = None) -> None:
    payload = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
