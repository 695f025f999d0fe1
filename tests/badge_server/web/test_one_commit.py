"""Issue 16: a kiosk's sign-in steps each commit once, and an attempt that fails still counts.

The rush's requests used to take three transactions each (an enrolment read, the rate-limit
counters, the work). Now device, counters, badge and launch code share the request's
transaction; a request that fails rolls them back and its counters are counted again beside its
audit row (web/deps.count_in_request, app.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, insert

from badge_server import clock
from badge_server.contract.payload import new_payload
from badge_server.exchange import request_limits
from badge_server.ratelimit import current_count
from badge_server.runtime import Runtime
from badge_server.store.db import read_only_transaction, transaction
from badge_server.store.models import AuditEvent
from tests.support.api import audit_count, error_code, exchange
from tests.support.district import District
from tests.support.servers import LoopbackServer


@contextmanager
def transactions(runtime: Runtime) -> Iterator[list[str]]:
    """Every transaction the server begins meanwhile, and how it ended ("commit"/"rollback")."""
    seen: list[str] = []

    def began(_connection: Any) -> None:
        seen.append("begin")

    def committed(_connection: Any) -> None:
        seen.append("commit")

    def rolled_back(_connection: Any) -> None:
        seen.append("rollback")

    listeners = (("begin", began), ("commit", committed), ("rollback", rolled_back))
    for name, listener in listeners:
        event.listen(runtime.engine, name, listener)
    try:
        yield seen
    finally:
        for name, listener in listeners:
            event.remove(runtime.engine, name, listener)


def at_the_top_of_a_minute() -> None:
    now = clock.utcnow()
    clock.advance(timedelta(seconds=60 - now.second - now.microsecond / 1e6 + 0.01))


def device_key(runtime: Runtime, token: str) -> str:
    return request_limits(runtime.settings, token, True, "127.0.0.1")[0].key


def test_an_exchange_and_its_launch_commit_once_each(http: httpx.Client, district: District) -> None:
    runtime = district.runtime
    at_the_top_of_a_minute()
    with transactions(runtime) as seen:
        answer = exchange(http, district.device_token, district.payloads["st-0001"])
    assert answer.status_code == 200, answer.text
    assert seen == ["begin", "commit"], "device, counters, badge and launch code in one transaction"
    with transactions(runtime) as seen:
        launched = http.post(
            "/api/v1/launch",
            json={"launch_code": answer.json()["launch_code"]},
            headers={"Authorization": f"Bearer {district.device_token}"},
        )
    assert launched.status_code == 200, launched.text
    assert seen == ["begin", "commit"]
    with transaction(runtime.factory) as session:
        assert current_count(session, device_key(runtime, district.device_token)) == 2


def test_a_browser_launch_and_its_dashboard_take_one_transaction_each(http: httpx.Client, district: District) -> None:
    runtime = district.runtime
    answer = exchange(http, district.device_token, district.payloads["st-0001"])
    code = answer.json()["launch_code"]
    http.cookies.set("badge_device", district.device_token)
    with transactions(runtime) as seen:
        landed = http.get(f"/launch/{code}")
    assert landed.status_code == 303, landed.text
    assert seen == ["begin", "commit"]
    with transactions(runtime) as seen:
        dashboard = http.get("/dashboard")
    assert dashboard.status_code == 200 and "Hi, " in dashboard.text
    assert seen == ["begin", "commit"]


def test_a_refused_exchange_rolls_back_yet_is_counted_and_audited(http: httpx.Client, district: District) -> None:
    runtime = district.runtime
    at_the_top_of_a_minute()
    with transactions(runtime) as seen:
        refused = exchange(http, district.device_token, str(new_payload()))  # a badge no one has
    assert refused.status_code == 403 and error_code(refused) == "badge_not_accepted"
    assert seen == ["begin", "rollback", "begin", "commit"]
    with transaction(runtime.factory) as session:
        assert current_count(session, device_key(runtime, district.device_token)) == 1
    assert audit_count(runtime, "badge.exchange", "badge_not_accepted") == 1


def test_refusals_counted_again_after_the_rollback_reach_the_limit(district: District) -> None:
    """Guesses from one kiosk are throttled on the attempt after the limit, though every one of
    them was rolled back: the recount is what the limit sees."""
    runtime, limit = district.runtime, 3
    strict = Runtime(
        runtime.settings.model_copy(update={"rate_per_device_per_minute": limit}),
        runtime.keys,
        runtime.engine,
        runtime.factory,
    )
    at_the_top_of_a_minute()
    with LoopbackServer(strict) as server, httpx.Client(base_url=server.url) as http:
        statuses = [exchange(http, district.device_token, str(new_payload())).status_code for _ in range(limit + 2)]
    assert statuses == [403] * limit + [429, 429]
    with transaction(runtime.factory) as session:
        assert current_count(session, device_key(runtime, district.device_token)) == limit + 2


def test_a_read_only_transaction_refuses_core_writes_too(runtime: Runtime) -> None:
    """Audit rows and launch codes are Core INSERTs, which skip the flush check."""
    write = insert(AuditEvent.__table__).values(at=clock.utcnow(), kind="x", outcome="ok", detail={})
    with (
        pytest.raises(RuntimeError, match="read-only transaction tried to write"),
        read_only_transaction(runtime.factory) as reading,
    ):
        reading.execute(write)


def test_a_read_only_transaction_refuses_a_flush(runtime: Runtime) -> None:
    with (
        pytest.raises(RuntimeError, match="read-only transaction tried to write"),
        read_only_transaction(runtime.factory) as reading,
    ):
        reading.add(AuditEvent(at=clock.utcnow(), kind="x", outcome="ok", detail={}))
        reading.flush()
    with read_only_transaction(runtime.factory) as reading:  # nothing was written
        assert reading.query(AuditEvent).filter_by(kind="x").count() == 0
