"""An overloaded server sheds load at once (503 + Retry-After) instead of queueing without bound."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from badge_server.runtime import Runtime
from badge_server.settings import Settings
from tests.support.api import error_code, exchange
from tests.support.district import District
from tests.support.servers import LoopbackServer


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "max_requests_in_flight": 2,
            "rate_per_badge_per_minute": 100_000,
            "rate_per_device_per_minute": 100_000,
            "rate_per_address_per_minute": 100_000,
        }
    )


@pytest.fixture
def runtime_for_crowd(runtime: Runtime) -> Iterator[LoopbackServer]:
    # Default load shedding (the crowd is what it is for), limits off so only capacity is tested.
    runtime.settings.max_requests_in_flight = Settings.model_fields["max_requests_in_flight"].default
    with LoopbackServer(runtime) as running:
        yield running


def test_past_the_in_flight_limit_requests_get_503_at_once_and_the_rest_are_served(
    server: LoopbackServer, district: District
) -> None:
    answers: list[httpx.Response] = []
    start = threading.Barrier(24)

    def kiosk() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            start.wait()
            answers.append(exchange(client, district.device_token, district.payloads["st-0001"]))

    threads = [threading.Thread(target=kiosk) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) == {200, 503}, statuses
    busy = [answer for answer in answers if answer.status_code == 503]
    assert all(error_code(a) == "server_busy" and a.headers["Retry-After"] == "2" for a in busy)
    assert all(a.headers["X-Content-Type-Options"] == "nosniff" for a in busy)
    with httpx.Client(base_url=server.url) as client:  # the load gone, all is well again
        assert client.get("/healthz").status_code == 200
        assert exchange(client, district.device_token, district.payloads["st-0001"]).status_code == 200


def test_a_crowd_larger_than_the_thread_pool_never_deadlocks(
    runtime_for_crowd: LoopbackServer, district: District
) -> None:
    """80 sign-ins at once: every one is served or told to retry; none hangs on the write lock."""
    answers: list[int | str] = []
    start = threading.Barrier(80)

    def kiosk() -> None:
        with httpx.Client(base_url=runtime_for_crowd.url, timeout=20) as client:
            start.wait()
            try:
                answer = exchange(client, district.device_token, district.payloads["st-0002"])
                answers.append(answer.status_code if answer.status_code == 200 else error_code(answer))
            except httpx.TimeoutException:
                answers.append("timed out")

    threads = [threading.Thread(target=kiosk) for _ in range(80)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert "timed out" not in answers and set(answers) <= {200, "server_busy"}, answers
    assert answers.count(200) >= 20
