"""``POST /scan/enrol-link`` over real HTTP: what a Chromebook's page gets back, and what it may not do."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from badge_server import clock, enrol_links
from badge_server.settings import Settings
from badge_server.store.db import transaction
from tests.support.api import audit_count, error_code, exchange
from tests.support.district import District
from tests.support.servers import LoopbackServer


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_per_address_per_minute": 5})


def new_token(district: District, server: LoopbackServer, uses: int = 30) -> str:
    with transaction(district.runtime.factory) as session:
        url = enrol_links.create_link(session, "s-maple", server.url, actor="test", max_uses=uses).url
    return url.split("#")[1]


def test_the_answer_is_a_working_device_token_and_its_cookie(
    http: httpx.Client, server: LoopbackServer, district: District
) -> None:
    answer = http.post("/scan/enrol-link", json={"token": new_token(district, server)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["name"] == "Chromebook 1" and body["school"] == "Maple Street Elementary"
    cookie = answer.headers["set-cookie"]
    assert "badge_device=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Max-Age=34560000" in cookie  # 400 days
    assert exchange(http, body["device_token"], district.payloads["st-0001"]).status_code == 200


def test_malformed_and_unknown_tokens_are_refused_and_audited(
    http: httpx.Client, server: LoopbackServer, district: District
) -> None:
    short = http.post("/scan/enrol-link", json={"token": "abc"})
    assert short.status_code == 400 and error_code(short) == "malformed_request"
    extra = http.post("/scan/enrol-link", json={"token": "A" * 43, "name": "mine"})
    assert extra.status_code == 400
    unknown = http.post("/scan/enrol-link", json={"token": "A" * 43})
    assert unknown.status_code == 403 and error_code(unknown) == "enrol_link_not_accepted"
    assert "not valid" in unknown.json()["error"]["message"]
    assert audit_count(district.runtime, "enrol_link.use", "enrol_link_not_accepted") == 1


def test_attempts_are_throttled_per_address(http: httpx.Client, server: LoopbackServer, district: District) -> None:
    now = clock.utcnow()  # start at a new one-minute window, so all six attempts fall in one
    clock.advance(timedelta(seconds=60 - now.second - now.microsecond / 1e6 + 0.01))
    statuses = [http.post("/scan/enrol-link", json={"token": "B" * 43}).status_code for _ in range(6)]
    assert statuses[:5] == [403] * 5 and statuses[5] == 429
    limited = http.post("/scan/enrol-link", json={"token": new_token(district, server)})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert audit_count(district.runtime, "enrol_link.use", "ok") == 0  # nothing enrolled past the limit
