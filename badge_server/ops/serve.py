"""Run the server under uvicorn (one process, or several workers sharing the database)."""

from __future__ import annotations

import contextlib
import logging
import logging.config
import os
import shutil
import socket
from collections.abc import Sequence
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI
from pythonjsonlogger.core import RESERVED_ATTRS
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from badge_server.app import create_app
from badge_server.metrics import MULTIPROCESS_DIR
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


def log_config(log_format: str) -> dict[str, Any]:
    """Python logging for the server: one JSON object a line (journald keeps each whole), or text.

    uvicorn's own access log is off: the server logs each request itself (web/telemetry.py), with
    its request id and outcome, and never its query string."""
    formatter: dict[str, Any] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    if log_format == "json":
        formatter = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601, UTC
            "json_ensure_ascii": False,
            "reserved_attrs": [*RESERVED_ATTRS, "color_message"],  # uvicorn's copy with terminal colours
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"server": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "server", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def share_metrics_between_workers(settings: Settings) -> None:
    """Each worker process writes its metrics to files here, and a scrape of any sums them all.
    Emptied at each start: counters begin again from zero, as Prometheus expects after a restart."""
    folder = settings.data_dir / "metrics"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, mode=0o700)
    os.environ[MULTIPROCESS_DIR] = str(folder)  # inherited by the workers, read when they import


def usable_cores() -> int:
    """The CPU cores this process may run on (a container's or systemd's CPU set, if any)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def workers_beyond_cores(settings: Settings, workers: int, cores: int) -> str | None:
    """What to tell IT when ``workers`` on the embedded database are more than the ``cores``.

    The workers take turns at SQLite's one writer: one per core served 1.75 times the sign-ins of
    one worker on 2 cores, and more than the cores served fewer again (a worker that has the
    writer waits for a core). PostgreSQL has no such turn: no advice.
    """
    if workers <= cores or not settings.effective_database_url.startswith("sqlite"):
        return None
    return (
        f"{workers} workers on {cores} CPU cores: on the embedded database (SQLite) the workers take "
        f"turns at its one writer, and more workers than cores serve fewer sign-ins. Use --workers "
        f"{cores} (BADGE_WORKERS={cores})."
    )


def run(settings: Settings, *, host: str, port: int, workers: int, extra_routers: Sequence[APIRouter] = ()) -> None:
    """Serve; ``extra_routers`` (the demo's own app) are served beside the server, one process only."""
    if workers > 1:
        share_metrics_between_workers(settings)
    # Build the app once here even with workers: a bad key or an old schema stops the
    # command with a clear message instead of N workers crashing in a loop.
    app = create_app(settings)
    if (too_many := workers_beyond_cores(settings, workers, usable_cores())) is not None:
        # Not refused (it works), only slower: said where IT reads the server's log, in its format
        # (the logging uvicorn.run sets up next, set up here first).
        logging.config.dictConfig(log_config(settings.log_format))
        logging.getLogger("badge_server.serve").warning(too_many)
    for router in extra_routers:
        app.include_router(router)
    common = {
        "host": host,
        "port": port,
        "proxy_headers": True,
        "log_level": "info",
        "log_config": log_config(settings.log_format),
        "access_log": False,
        "http": NoDelayHTTPProtocol,
    }
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
