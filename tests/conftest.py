"""Fixtures shared by every test: real databases and a real server on loopback."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from badge_server import badges, clock, devices
from badge_server.app import create_app
from badge_server.catalog import add_demo_catalog
from badge_server.roster import import_roster
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.store.db import make_engine, transaction
from badge_server.store.migrate import upgrade

DEMO_ROSTER = Path(__file__).parents[1] / "badge_server" / "ops" / "demo_data"
PG_URL = os.environ.get("BADGE_TEST_POSTGRES_URL")


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


def sqlite_copy(template: Path, path: Path) -> str:
    """A copy of the migrated SQLite template at ``path``, as a database URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, path)
    return f"sqlite:///{path}"


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


def new_secret_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Production settings (the strict ones) with a real key, on this test's database."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="production",
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=new_secret_key(),  # type: ignore[arg-type]
        pin_required_grades=("04",),
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.start(settings)
    yield runtime
    runtime.engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(base_url: str, seconds: float = 60) -> bool:
    """Poll ``GET /healthz`` of a server started in another process; True once it answers 200."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            time.sleep(0.1)
    return False


class LoopbackServer:
    """uvicorn serving an app on 127.0.0.1 in a thread of the test process."""

    def __init__(self, runtime: Runtime) -> None:
        self.port = free_port()
        config = uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def server(runtime: Runtime) -> Iterator[LoopbackServer]:
    with LoopbackServer(runtime) as running:
        yield running


@pytest.fixture
def http(server: LoopbackServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


@dataclass
class District:
    """The demo roster imported, badges issued, and one kiosk enrolled."""

    runtime: Runtime
    device_id: str
    device_token: str
    payloads: dict[str, str] = field(default_factory=dict)  # person id -> QR text

    @property
    def device_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.device_token}"}

    def enroll_device(self, name: str = "Another kiosk", school: str = "s-maple") -> tuple[str, str]:
        with transaction(self.runtime.factory) as session:
            grant = devices.create_enroll_code(session, school, minutes=5, actor="test")
            enrolled = devices.enroll_device(session, grant.code, name, source_ip=None)
        return enrolled.device_id, enrolled.device_token


def build_district(runtime: Runtime) -> District:
    with transaction(runtime.factory) as session:
        import_roster(session, DEMO_ROSTER, runtime.keys, runtime.settings, actor="test")
        add_demo_catalog(session)
        payloads = {}
        from badge_server.store.models import Badge

        for badge in session.query(Badge).all():
            payloads[badge.person_id] = str(badges.reprint(session, runtime.keys, badge, actor="test").payload)
        grant = devices.create_enroll_code(session, "s-maple", minutes=5, actor="test")
        enrolled = devices.enroll_device(session, grant.code, "Test kiosk", source_ip=None)
    return District(runtime, enrolled.device_id, enrolled.device_token, payloads)


@pytest.fixture
def district(runtime: Runtime) -> District:
    return build_district(runtime)
