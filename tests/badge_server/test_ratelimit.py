"""Rate limits per badge, per address and per device, shared by server processes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from badge_server import clock, ratelimit
from badge_server.contract.payload import new_payload
from badge_server.ratelimit import Limit, count_attempts
from badge_server.runtime import Runtime
from badge_server.store.db import transaction
from badge_server.store.models import RateCounter
from tests.support.api import audit_count, error_code, exchange
from tests.support.district import District, build_district
from tests.support.servers import LoopbackServer


def test_one_badge_is_throttled_after_twenty_tries_a_minute_then_recovers(
    http: httpx.Client, district: District
) -> None:
    badge = district.payloads["st-0001"]
    # Start at the top of a window so the minute cannot roll over mid-test.
    now = clock.utcnow()
    clock.advance(timedelta(seconds=60 - now.second - now.microsecond / 1e6 + 0.01))
    statuses = [exchange(http, district.device_token, badge).status_code for _ in range(20)]
    assert set(statuses) == {200}
    limited = exchange(http, district.device_token, badge)
    assert limited.status_code == 429 and error_code(limited) == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    # Other children on the same kiosk are not held up by one badge's limit.
    assert exchange(http, district.device_token, district.payloads["st-0002"]).status_code == 200
    assert audit_count(district.runtime, "badge.exchange", "rate_limited") == 1
    clock.advance(timedelta(seconds=61))  # no permanent lock-out
    assert exchange(http, district.device_token, badge).status_code == 200


@pytest.fixture
def strict_runtime(runtime: Runtime) -> Runtime:
    settings = runtime.settings.model_copy(update={"rate_per_device_per_minute": 5, "rate_per_address_per_minute": 8})
    return Runtime(settings, runtime.keys, runtime.engine, runtime.factory)


def test_guessing_random_badges_from_one_device_is_throttled(strict_runtime: Runtime) -> None:
    district = build_district(strict_runtime)
    with LoopbackServer(strict_runtime) as server, httpx.Client(base_url=server.url) as http:
        statuses = [exchange(http, district.device_token, str(new_payload())).status_code for _ in range(7)]
    assert statuses[:5] == [403] * 5 and statuses[5:] == [429, 429]


def test_requests_without_a_valid_device_token_are_limited_per_address_across_two_servers(
    strict_runtime: Runtime,
) -> None:
    """Junk without a valid device token is counted per address, and two servers on one database
    share the count."""
    build_district(strict_runtime)
    now = clock.utcnow()
    clock.advance(timedelta(seconds=60 - now.second - now.microsecond / 1e6 + 0.01))
    with LoopbackServer(strict_runtime) as one, LoopbackServer(strict_runtime) as two:
        statuses = []
        for n in range(10):
            with httpx.Client(base_url=(one, two)[n % 2].url) as http:
                statuses.append(exchange(http, f"made-up-token-{n}", str(new_payload())).status_code)
    assert statuses[:8] == [401] * 8
    assert statuses[8:] == [429, 429]


def test_junk_from_one_machine_behind_a_schools_shared_address_does_not_block_its_kiosks(
    strict_runtime: Runtime,
) -> None:
    """Issue 15, finding 4: 300 exchanges without a token used up the address's bucket, and every
    enrolled kiosk behind the same address then got 429. Valid devices are counted per device."""
    district = build_district(strict_runtime)
    kiosks = [district.enroll_device(f"kiosk {n}")[1] for n in range(3)]
    now = clock.utcnow()
    clock.advance(timedelta(seconds=60 - now.second - now.microsecond / 1e6 + 0.01))
    with LoopbackServer(strict_runtime) as server, httpx.Client(base_url=server.url) as http:
        junk = [exchange(http, "junk", str(new_payload())).status_code for _ in range(12)]
        assert junk[-1] == 429, "the junk itself is throttled"
        for token in kiosks:  # 3 kiosks x 4 exchanges: more than the address allows (8)
            for student in ("st-0001", "st-0002", "st-0003", "st-0004"):
                assert exchange(http, token, district.payloads[student]).status_code == 200
        assert http.get("/api/v1/devices/me", headers={"Authorization": f"Bearer {kiosks[0]}"}).status_code == 200


def test_old_windows_are_swept_once_at_a_five_minute_mark(runtime: Runtime) -> None:
    """Counters of past minutes are deleted at each fifth minute, once in that minute: the
    sweep ran on every request of the minute before (found profiling the exchange, issue 16)."""
    with transaction(runtime.factory) as session:
        count_attempts(session, [Limit("old-key", 100)])
        minute = session.scalars(select(RateCounter.window_start).where(RateCounter.key == "old-key")).one()
    mark = minute + 3 + (-(minute + 3)) % 5  # the first five-minute mark the old window is swept at
    clock.advance(timedelta(minutes=mark - minute))
    ratelimit._last_sweep[0] = -1  # whatever an earlier test in this process swept
    deletes: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", seen)
    try:
        for _ in range(3):
            with transaction(runtime.factory) as session:
                count_attempts(session, [Limit("new-key", 100)])
    finally:
        event.remove(runtime.engine, "before_cursor_execute", seen)
    assert len(deletes) == 1, "one sweep in the minute, not one per request"
    with transaction(runtime.factory) as session:
        assert set(session.scalars(select(RateCounter.key))) == {"new-key"}
