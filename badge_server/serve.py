"""Run the server under uvicorn (one process, or several workers sharing the database)."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from badge_server.app import create_app
from badge_server.settings import Settings


def app_from_environment() -> FastAPI:
    """uvicorn factory for worker processes: each builds its own app from BADGE_* settings."""
    return create_app(Settings())


def run(settings: Settings, *, host: str, port: int, workers: int) -> None:
    # Build the app once here even with workers: a bad key or an old schema stops the
    # command with a clear message instead of N workers crashing in a loop.
    app = create_app(settings)
    common = {"host": host, "port": port, "proxy_headers": True, "log_level": "info"}
    if workers == 1:
        uvicorn.run(app, **common)  # type: ignore[arg-type]
    else:
        uvicorn.run("badge_server.serve:app_from_environment", factory=True, workers=workers, **common)  # type: ignore[arg-type]
