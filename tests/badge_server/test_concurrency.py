"""Races the morning rush makes: a badge replaced while it is being scanned."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from badge_server import badges
from badge_server.settings import Settings
from badge_server.store.db import transaction
from badge_server.store.models import Person
from tests.support.api import exchange, sign_in
from tests.support.district import District
from tests.support.servers import LoopbackServer

JOSE = "st-0001"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The race is the subject here, not the per-badge throttle (tested in test_ratelimit).
    return settings.model_copy(update={"rate_per_badge_per_minute": 100_000, "rate_per_device_per_minute": 100_000})


def test_after_a_replace_commits_the_old_badge_never_wins(server: LoopbackServer, district: District) -> None:
    old = district.payloads[JOSE]
    with httpx.Client(base_url=server.url) as kiosk:
        session_token = sign_in(kiosk, district.device_token, old)  # signed in with the old badge
    results: list[tuple[float, float, int]] = []  # (sent, answered, status) for the old badge
    stop = threading.Event()

    def scan_old_badge() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as kiosk:
            while not stop.is_set():
                sent = time.monotonic()
                status = exchange(kiosk, district.device_token, old).status_code
                results.append((sent, time.monotonic(), status))

    # Two kiosks keep scanning the old badge while the teacher replaces it.
    scanners = [threading.Thread(target=scan_old_badge) for _ in range(2)]
    for thread in scanners:
        thread.start()
    deadline = time.monotonic() + 30
    while len(results) < 4 and time.monotonic() < deadline:
        time.sleep(0.005)
    with transaction(district.runtime.factory) as session:
        person = session.get(Person, JOSE)
        assert person is not None
        new = str(
            badges.replace(session, district.runtime.keys, district.runtime.settings, person, actor="test").payload
        )
    committed = time.monotonic()
    deadline = committed + 30
    # Keep scanning until several exchanges were sent after the commit (slow machines included).
    while sum(1 for sent, _, _ in results if sent > committed) < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    for thread in scanners:
        thread.join(30)

    before = [status for sent, answered, status in results if answered < committed]
    after = [status for sent, answered, status in results if sent > committed]
    assert 200 in before, "the old badge worked until the replace"
    assert after and set(after) == {409}, f"an exchange sent after the replace committed answered {set(after)}"
    with httpx.Client(base_url=server.url) as kiosk:
        assert exchange(kiosk, district.device_token, new).status_code == 200
        # The session the old badge started before the replace is over too.
        assert kiosk.get("/api/v1/me", headers={"Authorization": f"Bearer {session_token}"}).status_code == 401
