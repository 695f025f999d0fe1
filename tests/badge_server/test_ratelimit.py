"""Rate limits per badge, per address and per device, shared by server processes."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from badge_server import clock
from badge_server.contract.payload import new_payload
from badge_server.runtime import Runtime
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


def test_the_address_limit_spans_devices_and_is_shared_by_two_servers_on_one_database(strict_runtime: Runtime) -> None:
    district = build_district(strict_runtime)
    tokens = [district.enroll_device(f"kiosk {n}")[1] for n in range(4)]
    now = clock.utcnow()
    clock.advance(timedelta(seconds=60 - now.second - now.microsecond / 1e6 + 0.01))
    with LoopbackServer(strict_runtime) as one, LoopbackServer(strict_runtime) as two:
        statuses = []
        for n in range(10):
            with httpx.Client(base_url=(one, two)[n % 2].url) as http:
                statuses.append(exchange(http, tokens[n % 4], str(new_payload())).status_code)
    assert statuses[:8] == [403] * 8
    assert statuses[8:] == [429, 429]
