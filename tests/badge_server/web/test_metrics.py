"""``GET /metrics`` on a real server: only with the district's token, and its numbers move with
real traffic (exchanges by outcome, sign-in latency, rate-limit hits, open sessions, kiosks heard
from), read back with Prometheus's own text parser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from badge_server.contract.payload import BadgeKind, new_payload
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from tests.support.api import exchange
from tests.support.district import District
from tests.support.oidc_app import browser_for, scan
from tests.support.servers import LoopbackServer

TOKEN = "metrics-token-for-the-test-0123456789"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_token": SecretStr(TOKEN), "rate_per_badge_per_minute": 3})


@pytest.fixture
def scraper(server: LoopbackServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=20) as client:
        yield client


def scrape(scraper: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = scraper.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_metrics_need_the_districts_token(server: LoopbackServer) -> None:
    with httpx.Client(base_url=server.url, timeout=20) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN[:-1]}x"})
        assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"


def test_metrics_move_with_real_sign_ins(scraper: httpx.Client, district: District, http: httpx.Client) -> None:
    before = scrape(scraper)
    assert before.get(("badge_exchanges_total", (("outcome", "ok"),)), 0) == 0
    jose = district.payloads["st-0001"]
    with browser_for(str(http.base_url), district) as browser:
        assert scan(browser, district, "st-0001").status_code in (302, 303), "signed in, on to the dashboard"
    assert exchange(http, district.device_token, str(new_payload(BadgeKind.BADGE, 1))).status_code == 403
    for _ in range(3):  # the per-badge limit is 3 a minute here: the fourth try of José's badge is refused
        exchange(http, district.device_token, jose)
    after = scrape(scraper)
    assert after[("badge_exchanges_total", (("outcome", "ok"),))] == 3
    assert after[("badge_exchanges_total", (("outcome", "badge_not_accepted"),))] == 1
    assert after[("badge_exchanges_total", (("outcome", "rate_limited"),))] == 1
    assert after[("badge_rate_limited_total", (("step", "exchange"),))] == 1
    assert after[("badge_exchange_seconds_count", ())] == 5
    assert after[("badge_sign_in_seconds_count", (("step", "launch"),))] == 1
    assert after[("badge_http_requests_total", (("status", "4xx"),))] >= 2
    assert after[("badge_active_sessions", (("client", "browser"),))] == 1, "José, at the scanner page"
    assert after[("badge_kiosks_seen_recently", (("school", "Maple Street Elementary"),))] == 1
    seen = [key for key in after if key[0] == "badge_kiosk_last_seen_timestamp_seconds"]
    assert [dict(labels)["device"] for _name, labels in seen] == ["Test kiosk"]


def test_without_a_token_set_there_is_no_metrics_page(district: District, tmp_path: Path) -> None:
    unset = district.runtime.settings.model_copy(update={"metrics_token": None})
    with LoopbackServer(
        Runtime(unset, district.runtime.keys, district.runtime.engine, district.runtime.factory)
    ) as bare:
        assert httpx.get(f"{bare.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
    (tmp_path / "token").write_text(f"{TOKEN}\n")
    from_file = unset.model_copy(update={"metrics_token_file": tmp_path / "token"})
    assert from_file.metrics_bearer == TOKEN
