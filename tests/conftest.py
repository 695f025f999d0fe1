"""Fixtures shared by every test: real databases and a real server on loopback (helpers: tests/support/)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from badge_server import clock
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.store.db import make_engine
from badge_server.store.migrate import upgrade
from tests.support.database import PG_URL, new_secret_key, sqlite_copy
from tests.support.district import District, build_district
from tests.support.servers import LoopbackServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the longest test files first. With ``--dist loadfile`` each worker takes whole files in
    collection order (with ``--no-loadscope-reorder``, as scripts/test runs it), so a long file
    (building the kiosk package, lintian) collected last kept one worker busy for minutes while
    the other sat idle: longest first keeps both busy to the end."""

    def seconds(item: pytest.Item) -> float:
        marker = item.get_closest_marker("runs_long")
        return float(marker.args[0]) if marker else 0.0

    items.sort(key=seconds, reverse=True)  # stable: files, and tests within a file, keep their order


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once with the real Alembic migrations; each test copies it."""
    path = tmp_path_factory.mktemp("template") / "badge.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL template database, migrated once; each test clones it (CREATE ... TEMPLATE)."""
    if not PG_URL:
        message = "PostgreSQL tests need BADGE_TEST_POSTGRES_URL; scripts/test starts a server on loopback and sets it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(f"!!! SKIPPING POSTGRESQL: {message}")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"badge_tpl_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sqlite_database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only, for tests whose subject is the same whatever the database (pages, packages):
    a module overrides ``database_url`` with it."""
    return sqlite_copy(sqlite_template, tmp_path / "badge.db")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test, on each database the product supports."""
    if request.param == "sqlite":
        yield sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path / "badge.db")
        return
    template = request.getfixturevalue("postgres_template")
    admin = create_engine(PG_URL or "", isolation_level="AUTOCOMMIT")
    name = f"badge_t_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(PG_URL or "").set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Production settings (the strict ones) with a real key, on this test's database."""
    return Settings(
        _env_file=None,
        env="production",
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=new_secret_key(),
        pin_required_grades=("04",),
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.start(settings)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def server(runtime: Runtime) -> Iterator[LoopbackServer]:
    with LoopbackServer(runtime) as running:
        yield running


@pytest.fixture
def http(server: LoopbackServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


@pytest.fixture
def district(runtime: Runtime) -> District:
    return build_district(runtime)
