"""Run the server under uvicorn (one process, or several workers sharing the database)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Sequence
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from badge_server.app import create_app
from badge_server.settings import Settings


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol with Nagle's algorithm off on every connection.

    asyncio turns TCP_NODELAY on for the connections it accepts only when the listening socket
    says it is TCP; the socket uvicorn hands its worker processes does not say so, and each
    response then waited ~40 ms for a delayed ACK (measured: 2 ms per request with one process,
    48 ms with two). Setting it here makes both the same.
    """

    def connection_made(self, transport: Any) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


WORKER_STARTUP_SECONDS = 60


def app_from_environment() -> FastAPI:
    """uvicorn factory for worker processes: each builds its own app from BADGE_* settings."""
    return create_app(Settings())


def run(settings: Settings, *, host: str, port: int, workers: int, extra_routers: Sequence[APIRouter] = ()) -> None:
    """Serve; ``extra_routers`` (the demo's own app) are served beside the server, one process only."""
    # Build the app once here even with workers: a bad key or an old schema stops the
    # command with a clear message instead of N workers crashing in a loop.
    app = create_app(settings)
    for router in extra_routers:
        app.include_router(router)
    common = {"host": host, "port": port, "proxy_headers": True, "log_level": "info", "http": NoDelayHTTPProtocol}
    if workers == 1:
        uvicorn.run(app, **common)  # type: ignore[arg-type]
    else:
        # A worker imports the whole server (pysaml2's schema alone is ~0.6 s) before it answers the
        # parent's health check; on a busy 2-core machine with several starting at once that took
        # over uvicorn's default 5 s, and the parent killed and restarted a healthy worker.
        uvicorn.run(
            "badge_server.ops.serve:app_from_environment",
            factory=True,
            workers=workers,
            timeout_worker_healthcheck=WORKER_STARTUP_SECONDS,
            **common,  # type: ignore[arg-type]
        )
