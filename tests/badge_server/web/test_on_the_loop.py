"""A sign-in step runs on the event loop when SQLite's writer is free; while another worker has
it, the step waits for its turn on the loop (which serves other requests meanwhile); a writer
held longer (a roster import) sends it to a worker thread. Never does the event loop wait for the
database, and either way the answer is the same. The dashboard only reads: it needs no turn."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from badge_server.errors import WriterBusy
from badge_server.store.db import WITHOUT_WAITING, WithoutWaiting, make_engine, make_session_factory, transaction
from badge_server.web import deps
from badge_server.web.deps import SESSION_COOKIE
from tests.support.api import exchange, sign_in
from tests.support.database import on_the_event_loop, writer_taken
from tests.support.district import District
from tests.support.servers import LoopbackServer
from tests.support.waiting import wait_until


@pytest.fixture
def where_exchanges_ran(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """True for each exchange's work done on the event loop, False for one in a worker thread."""
    ran: list[bool] = []
    from badge_server.web import api

    original: Callable[..., Any] = api._exchange_badge

    def spied(*args: Any) -> Any:
        ran.append(on_the_event_loop())
        return original(*args)

    monkeypatch.setattr(api, "_exchange_badge", spied)
    return ran


def test_an_exchange_runs_on_the_loop_when_the_writer_is_free_and_in_a_thread_when_not(
    server: LoopbackServer,
    district: District,
    database_url: str,
    where_exchanges_ran: list[bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Well within the half second the writer is held below, however late the exchange arrives.
    monkeypatch.setattr(deps, "_LOOP_WAIT_SECONDS", 0.05)
    with httpx.Client(base_url=server.url, timeout=30) as kiosk:
        assert exchange(kiosk, district.device_token, district.payloads["st-0001"]).status_code == 200
        sqlite = database_url.startswith("sqlite")
        assert where_exchanges_ran == ([True] if sqlite else [False])
        where_exchanges_ran.clear()
        # Another process, outside the server's queue (a sqlite3 shell), writes for half a second:
        # the exchange's work starts on the loop, meets the busy file before any statement, looks
        # again for a quarter of a second, then waits in a thread and succeeds.
        with writer_taken(district.runtime):
            answer: list[httpx.Response] = []
            waiting = threading.Thread(
                target=lambda: answer.append(exchange(kiosk, district.device_token, district.payloads["st-0002"]))
            )
            waiting.start()
            time.sleep(0.5)
            # Meanwhile the loop is free: it serves a file (on the loop itself), and the health
            # check (a reader) does not queue behind the writer either. The writer is given back
            # only after these answers, so a loop waiting on it would never answer: the time-out
            # is long, for a busy machine, not a measure of speed.
            assert httpx.get(f"{server.url}/static/console.css", timeout=20).status_code == 200
            assert httpx.get(f"{server.url}/healthz", timeout=20).status_code == 200
        waiting.join(30)
        assert answer[0].status_code == 200
        if sqlite:
            assert len(where_exchanges_ran) > 2 and all(where_exchanges_ran[:-1]), where_exchanges_ran[:5]
            assert where_exchanges_ran[-1] is False
        else:
            assert where_exchanges_ran == [False]


def test_an_exchange_waits_on_the_loop_for_another_workers_turn_at_the_writer(
    server: LoopbackServer,
    district: District,
    database_url: str,
    where_exchanges_ran: list[bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two workers on one file: the second waits for the first's turn at the writer without
    starting its work (no statement run twice), then does it on its loop."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL work always runs in a worker thread")
    # The other worker's turn lasts until this test has seen the exchange arrive: on a busy
    # machine that may be longer than the quarter second after which the exchange would go to a
    # thread.
    monkeypatch.setattr(deps, "_LOOP_WAIT_SECONDS", 30)
    other_worker = make_engine(district.runtime.settings.effective_database_url)
    answers: list[httpx.Response] = []
    try:
        with httpx.Client(base_url=server.url, timeout=30) as kiosk:
            with transaction(make_session_factory(other_worker)) as session:
                session.connection()  # its turn: BEGIN IMMEDIATE
                waiting = threading.Thread(
                    target=lambda: answers.append(exchange(kiosk, district.device_token, district.payloads["st-0002"]))
                )
                waiting.start()
                wait_until(
                    lambda: httpx.get(f"{server.url}/healthz", timeout=10).json()["in_flight"] >= 1,
                    10,
                    what="the exchange to arrive",
                )
                started_while_held = list(where_exchanges_ran)
            waiting.join(30)
    finally:
        other_worker.dispose()
    assert started_while_held == [], "its work started while the other worker had the writer"
    assert answers[0].status_code == 200, answers[0].text
    assert where_exchanges_ran == [True]


def test_the_dashboard_and_the_kiosks_apps_need_no_turn_at_the_writer(
    server: LoopbackServer, district: District
) -> None:
    """They only read (the idle timer is written apart, every ten seconds at most): while another
    process writes, they are served at once, where a step that writes would wait."""
    with httpx.Client(base_url=server.url, timeout=10) as kiosk:
        token = sign_in(kiosk, district.device_token, district.payloads["st-0001"])
        with writer_taken(district.runtime):
            apps = kiosk.get("/api/v1/me/apps", headers={"Authorization": f"Bearer {token}"})
            kiosk.cookies.set(SESSION_COOKIE, token)
            page = kiosk.get("/dashboard")
    assert apps.status_code == 200 and apps.json()["apps"], apps.text
    assert page.status_code == 200 and "Hi, " in page.text, page.text[:300]


def test_a_transaction_that_may_not_wait_is_refused_while_this_process_writes(
    district: District, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL work always runs in a worker thread")
    factory = district.runtime.factory
    holding, done = threading.Event(), threading.Event()

    def writer() -> None:
        with transaction(factory) as session:
            session.connection()  # BEGIN IMMEDIATE: this thread holds the writer
            holding.set()
            done.wait(10)

    other = threading.Thread(target=writer)
    other.start()
    try:
        assert holding.wait(10)
        token = WITHOUT_WAITING.set(WithoutWaiting())
        try:
            with pytest.raises(WriterBusy), transaction(factory) as session:
                session.connection()
        finally:
            WITHOUT_WAITING.reset(token)
    finally:
        done.set()
        other.join(10)
    with transaction(factory) as session:  # and the writer was given back: a normal one goes on
        session.connection()


def test_work_on_the_loop_may_not_begin_a_second_transaction(district: District, database_url: str) -> None:
    """A second could meet a busy writer after the first committed: starting over would do the
    first one's work twice. It is a mistake in the code, and says so."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL work always runs in a worker thread")
    token = WITHOUT_WAITING.set(WithoutWaiting())
    try:
        with transaction(district.runtime.factory) as session:
            session.connection()
        with pytest.raises(RuntimeError, match="second transaction"), transaction(district.runtime.factory) as session:
            session.connection()
    finally:
        WITHOUT_WAITING.reset(token)
