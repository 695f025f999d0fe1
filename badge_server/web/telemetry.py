"""One log line and the metrics of every request, with a request id echoed to the client.

The line is JSON (``badge_server.request``), for journald and whatever reads it: method, the path
with any code in it cut out (web/access_log.py), status, duration, the outcome (the error code
of a refusal) and the request id, which the response carries in ``X-Request-ID`` so a district
can match a kiosk's complaint to the line. Never a query string, body or header: they carry
badges, tokens, codes and passwords.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from badge_server.metrics import ServerMetrics
from badge_server.web.access_log import loggable_path

REQUEST_ID_HEADER = "X-Request-ID"
#: An id a proxy in front already gave the request, kept so the two logs match; anything else is replaced.
_PROXY_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
#: Where the request's error code is left for this middleware (scope["state"], i.e. request.state).
ERROR_CODE = "error_code"
log = logging.getLogger("badge_server.request")


def sign_in_step(method: str, path: str) -> str | None:
    """The sign-in step a request is, for the latency histograms; ``None`` for everything else."""
    if path == "/api/v1/exchange" and method == "POST":
        return "exchange"
    if path == "/api/v1/launch" or path.startswith("/launch/"):
        return "launch"
    if path in ("/authorize", "/token", "/userinfo"):
        return f"oidc{path.replace('/', '_')}"
    if path == "/saml/sso":
        return "saml"
    if path == "/sso/continue":
        return "sso_continue"
    if path == "/api/v1/handoff" or path.startswith("/handoff/"):
        return "handoff"
    if path in ("/scan/home", "/sign-in/password"):
        return path.strip("/").replace("/", "_").replace("-", "_")
    return None


class RequestTelemetry:
    """Pure ASGI, outermost: it sees every answer, even one refused before the app (413, 503)."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
        request_id = given if _PROXY_ID.fullmatch(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        status = 500  # if the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            self._observe(scope, status, seconds, state.get(ERROR_CODE), request_id)

    def _observe(self, scope: Scope, status: int, seconds: float, code: str | None, request_id: str) -> None:
        method, path = scope["method"], scope["path"]
        outcome = code or ("ok" if status < 400 else f"http_{status}")
        step = sign_in_step(method, path)
        metrics = self.metrics
        metrics.requests.labels(f"{status // 100}xx").inc()
        if step == "exchange":
            metrics.exchanges.labels(outcome).inc()
            metrics.exchange_seconds.observe(seconds)
        elif step is not None:
            metrics.sign_in_seconds.labels(step).observe(seconds)
        if code == "rate_limited":
            metrics.rate_limited.labels(step or "other").inc()
        elif code == "server_busy":
            metrics.shed.inc()
        elif code == "database_unavailable":
            metrics.database_errors.inc()
        client = scope.get("client")
        log.info(
            "%s %s %s",
            method,
            loggable_path(path),
            status,
            extra={
                "request_id": request_id,
                "method": method,
                "path": loggable_path(path),
                "status": status,
                "outcome": outcome,
                "duration_ms": round(seconds * 1000, 1),
                "client": client[0] if client else None,
            },
        )
