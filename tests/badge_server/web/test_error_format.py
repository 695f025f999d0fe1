"""Issue 15: an unexpected error (a bug) keeps the error format and the security headers, and
no log line carries a launch or hand-off code."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest

from badge_server import clock
from badge_server.exchange import request_limits
from badge_server.ratelimit import current_count
from badge_server.store.db import transaction
from badge_server.web.access_log import RedactCodes, loggable_path
from tests.support.api import error_code, exchange
from tests.support.district import District
from tests.support.servers import LoopbackServer

JOSE = "st-0001"


def test_an_unexpected_error_is_a_500_in_the_error_format_with_the_security_headers(
    server: LoopbackServer, district: District, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("badge_server.exchange.exchange_badge", broken)
    now = clock.utcnow()  # the top of a minute: the count below is read in the same window
    clock.advance(timedelta(seconds=60 - now.second - now.microsecond / 1e6 + 0.01))
    with httpx.Client(base_url=server.url, timeout=10) as kiosk:
        answer = exchange(kiosk, district.device_token, district.payloads[JOSE])
    assert answer.status_code == 500 and answer.headers["content-type"] == "application/json"
    assert error_code(answer) == "internal_error" and "tell IT" in answer.json()["error"]["message"]
    assert "a bug" not in answer.text and "Traceback" not in answer.text
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    # The attempt was counted in the transaction the crash rolled back; it is counted again.
    key = request_limits(district.runtime.settings, district.device_token, True, "127.0.0.1")[0].key
    with transaction(district.runtime.factory) as session:
        assert current_count(session, key) == 1


def test_launch_and_hand_off_codes_never_reach_the_access_log() -> None:
    assert loggable_path("/launch/Zx9-secret_code") == "/launch/…"
    assert loggable_path("/handoff/abc?x=1") == "/handoff/…?x=1"
    assert loggable_path("/apps/starfall/open") == "/apps/starfall/open"
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/launch/Zx9-secret_code", "1.1", 303), None,
    )  # fmt: skip
    assert RedactCodes().filter(record)
    assert "Zx9-secret_code" not in record.getMessage() and "/launch/…" in record.getMessage()
