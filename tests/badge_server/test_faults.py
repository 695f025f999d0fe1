"""Faults at the worst moment: the server killed mid-rush, the database gone for a while."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from badge_server.settings import Settings
from badge_server.store import db
from tests.support.api import audit_count, error_code, exchange
from tests.support.district import District
from tests.support.servers import free_port, wait_until_serving

pytestmark = pytest.mark.runs_long(50)

STUDENTS = [f"st-{n:04d}" for n in range(1, 21)]  # Maple Street: the test kiosk's school


class ServerProcess:
    """`badge-server serve` as its own process group, so it can be killed like a crashed machine."""

    def __init__(self, settings: Settings, workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BADGE_")} | {
            "BADGE_DATA_DIR": str(settings.data_dir),
            "BADGE_DATABASE_URL": settings.effective_database_url,
            "BADGE_SECRET_KEY": settings.secret_key.get_secret_value() if settings.secret_key else "",
            # Capacity is the subject, not the throttle (tested in test_ratelimit).
            "BADGE_RATE_PER_BADGE_PER_MINUTE": "100000",
            "BADGE_RATE_PER_DEVICE_PER_MINUTE": "100000",
            "BADGE_RATE_PER_ADDRESS_PER_MINUTE": "100000",
        }
        self.command = [
            sys.executable,
            "-m",
            "badge_server",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command, env=self.env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if not wait_until_serving(self.url, 30):
            raise RuntimeError("server did not start")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)  # no shutdown, no flush: a pulled plug
        self.process.wait(10)

    def stop(self) -> None:
        """As systemd stops the unit (KillMode=mixed): SIGTERM to the parent, which stops its workers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()  # leave no server behind for the next test
            raise AssertionError("the server did not stop within 20 s of SIGTERM") from None


@pytest.fixture
def served(settings: Settings, district: District) -> Iterator[ServerProcess]:
    server = ServerProcess(settings)
    server.start()
    yield server
    server.stop()


def test_kill_9_mid_rush_loses_nothing_that_was_acknowledged(
    served: ServerProcess, district: District, settings: Settings
) -> None:
    acknowledged: list[str] = []
    stop = threading.Event()

    def kiosk() -> None:
        with httpx.Client(base_url=served.url, timeout=10) as client:
            while not stop.is_set():
                try:
                    answer = exchange(client, district.device_token, district.payloads[random.choice(STUDENTS)])
                except httpx.TransportError:
                    continue  # the server died under this request: not acknowledged
                if answer.status_code == 200:
                    acknowledged.append(answer.json()["launch_code"])

    kiosks = [threading.Thread(target=kiosk) for _ in range(6)]
    for thread in kiosks:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    served.kill()
    stop.set()
    for thread in kiosks:
        thread.join(30)
    count = len(acknowledged)
    assert count >= 40, "the server acknowledged sign-ins before it was killed"

    if settings.effective_database_url.startswith("sqlite"):
        path = make_url(settings.effective_database_url).database
        with sqlite3.connect(str(path)) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    served.start()  # restarted, as systemd would
    with httpx.Client(base_url=served.url, timeout=10) as client:
        redeemed = [
            client.post("/api/v1/launch", json={"launch_code": code}, headers=district.device_headers).status_code
            for code in acknowledged
        ]
    assert redeemed == [200] * count, "every launch code the server acknowledged before the crash still works"
    assert audit_count(district.runtime, "badge.exchange", "ok") >= count
    assert audit_count(district.runtime, "session.start", "ok") == count


def test_the_database_away_then_back_gives_503s_then_recovers(
    http: httpx.Client, district: District, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: the embedded database is a file on the server's own disk")
    url = make_url(database_url)
    admin = create_engine(
        url.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false'))
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": url.database},
            )
        for _ in range(3):
            answer = exchange(http, district.device_token, district.payloads["st-0001"])
            assert answer.status_code == 503 and error_code(answer) == "database_unavailable"
            assert answer.headers["Retry-After"] == "2" and "Traceback" not in answer.text
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true'))
        statuses = [exchange(http, district.device_token, district.payloads["st-0001"]).status_code for _ in range(2)]
        assert statuses == [200, 200], "the first request after the database returns is served"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def test_connections_the_database_closed_while_idle_are_replaced_unseen(
    http: httpx.Client, district: District, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database restart (or a failover, a firewall's idle cut) while the server is quiet: the
    next exchanges are served, not told the database is away. A connection idle longer than
    IDLE_BEFORE_PING_SECONDS is asked before it is used (store/db.py)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: the embedded database is a file on the server's own disk")
    monkeypatch.setattr(db, "IDLE_BEFORE_PING_SECONDS", 0.2)
    for person_id in ("st-0001", "st-0002"):  # the pool holds connections now
        assert exchange(http, district.device_token, district.payloads[person_id]).status_code == 200
    url = make_url(database_url)
    admin = create_engine(
        url.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            ended = connection.execute(
                text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :name"),
                {"name": url.database},
            ).scalar_one()
    finally:
        admin.dispose()
    assert ended >= 1, "the server's pooled connections were ended"
    time.sleep(0.4)
    statuses = [
        exchange(http, district.device_token, district.payloads[person_id]).status_code
        for person_id in ("st-0001", "st-0002", "st-0003")
    ]
    assert statuses == [200, 200, 200]
