"""A sign-in step runs on the event loop when SQLite's writer is free, and in a worker thread
when it is not: never does the event loop wait for the database, and either way the answer is
the same."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from badge_server.errors import WriterBusy
from badge_server.store.db import WITHOUT_WAITING, WithoutWaiting, transaction
from tests.support.api import exchange
from tests.support.database import on_the_event_loop, writer_taken
from tests.support.district import District
from tests.support.servers import LoopbackServer


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
    server: LoopbackServer, district: District, database_url: str, where_exchanges_ran: list[bool]
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as kiosk:
        assert exchange(kiosk, district.device_token, district.payloads["st-0001"]).status_code == 200
        sqlite = database_url.startswith("sqlite")
        assert where_exchanges_ran == ([True] if sqlite else [False])
        where_exchanges_ran.clear()
        # Another process writes for half a second: the exchange does not wait on the loop (no
        # statement ran there), it waits in a thread and then succeeds.
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
        assert where_exchanges_ran == ([True, False] if sqlite else [False])


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
