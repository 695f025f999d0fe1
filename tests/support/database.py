"""Test databases: the demo roster, the PostgreSQL server scripts/test starts, SQLite copies, keys."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from badge_server.runtime import Runtime
from badge_server.store.db import transaction
from badge_server.store.models import Badge, Enrollment, ImportRun, Org, Person, SchoolClass

DEMO_ROSTER = Path(__file__).parents[2] / "badge_server" / "ops" / "demo_data"
PG_URL = os.environ.get("BADGE_TEST_POSTGRES_URL")


def sqlite_copy(template: Path, path: Path) -> str:
    """A copy of the migrated SQLite template at ``path``, as a database URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, path)
    return f"sqlite:///{path}"


def new_secret_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def snapshot(runtime: Runtime) -> dict[str, int]:
    """Row counts of the roster's tables, to show an import changed nothing (or what it changed)."""
    with transaction(runtime.factory) as session:
        counts = {
            m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0
            for m in (Org, Person, SchoolClass, Enrollment, Badge, ImportRun)
        }
        counts["active_people"] = session.scalar(select(func.count()).where(Person.active.is_(True))) or 0
    return counts


@contextmanager
def writer_taken(runtime: Runtime) -> Iterator[None]:
    """Another process's write transaction on the SQLite file (a roster import, a second
    worker): an exchange cannot run on the event loop then, and waits in a worker thread, in
    flight. (On PostgreSQL every exchange runs in a worker thread anyway: nothing to hold.)"""
    url = make_url(runtime.settings.effective_database_url)
    if url.get_backend_name() != "sqlite":
        yield
        return
    other = sqlite3.connect(str(url.database), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def on_the_event_loop() -> bool:
    """Whether this code runs on an event loop's own thread (a server's), not in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
