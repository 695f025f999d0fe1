"""Issue 15's findings against the staff sign-in, each attacked the way it was found."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from badge_server import clock, staff
from badge_server.store.db import transaction
from badge_server.store.models import AuditEvent
from tests.support.api import exchange
from tests.support.district import District
from tests.support.servers import LoopbackServer
from tests.support.staff import PASSWORD, add_staff, csrf_of, sign_in

JOSE = "st-0001"


@pytest.fixture
def browser(server: LoopbackServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=10) as client:
        yield client


def fresh_minute() -> None:
    now = clock.utcnow()
    clock.advance(timedelta(seconds=60 - now.second - now.microsecond / 1e6 + 0.01))


def refusals(district: District) -> list[tuple[str, dict[str, Any], str | None]]:
    with transaction(district.runtime.factory) as session:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.kind == "staff.sign_in", AuditEvent.outcome != "ok")
            .order_by(AuditEvent.id)
        )
        return [(row.outcome, dict(row.detail), row.source_ip) for row in rows]


def test_a_kiosk_exchange_goes_through_while_a_staff_password_is_being_checked(
    server: LoopbackServer, district: District, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 1: the argon2 check ran inside the request's transaction, which on SQLite holds the
    write lock: here the check waits for the exchange, so that would never end."""
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    exchanged, checking = threading.Event(), threading.Event()

    def slow_verify(*args: Any) -> bool:
        checking.set()
        exchanged.wait(15)
        return staff.verify_staff_password(*args)

    monkeypatch.setattr("badge_server.staff_sign_in.verify_staff_password", slow_verify)
    landed: list[str] = []
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as teacher:
        worker = threading.Thread(target=lambda: landed.append(sign_in(teacher, "lrivera").url.path))
        worker.start()
        assert checking.wait(10)
        with httpx.Client(base_url=server.url, timeout=5) as kiosk:
            answer = exchange(kiosk, district.device_token, district.payloads[JOSE])
        exchanged.set()
        worker.join(20)
    assert answer.status_code == 200, answer.text
    assert landed == ["/staff/classes"]


def test_a_flood_of_made_up_usernames_is_throttled_per_address_before_any_password_is_checked(
    browser: httpx.Client, district: District, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 1: the throttle counted per address *and username*, so a new username each time
    dodged it and every try cost an argon2 check."""
    checked: list[str | None] = []

    def counted_verify(password_hash: str | None, password: str) -> bool:
        checked.append(password_hash)
        return staff.verify_staff_password(password_hash, password)

    monkeypatch.setattr("badge_server.staff_sign_in.verify_staff_password", counted_verify)
    fresh_minute()
    limit = district.runtime.settings.rate_staff_login_per_address_per_minute
    statuses = [sign_in(browser, f"nobody{n}", "guess").status_code for n in range(limit + 5)]
    assert statuses == [401] * limit + [429] * 5
    assert len(checked) == limit, "a throttled try costs no argon2 check"
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    assert sign_in(browser, "lrivera").status_code == 429  # the address waits out its minute...
    clock.advance(timedelta(seconds=61))
    assert sign_in(browser, "lrivera").url.path == "/staff/classes"  # ...and no one is locked out


def test_every_failed_staff_sign_in_is_audited_with_the_username_and_address(
    browser: httpx.Client, district: District
) -> None:
    """Finding 3: wrong password, unknown user, wrong code and throttled tries left no audit row."""
    add_staff(district, "admin", "district_admin")
    fresh_minute()
    assert sign_in(browser, "  Admin ", "wrong password").status_code == 401
    assert sign_in(browser, "ghost", "whatever").status_code == 401
    step = sign_in(browser, "admin")  # right password: on to the second factor (set-up here)
    assert step.url.path == "/staff/mfa/setup"
    per_user = district.runtime.settings.rate_staff_login_per_user_per_minute
    for _ in range(per_user):
        sign_in(browser, "ghost", "again")
    rows = refusals(district)
    assert rows[0] == ("refused", {"username": "admin", "step": "password"}, "127.0.0.1")
    assert rows[1] == ("refused", {"username": "ghost", "step": "password"}, "127.0.0.1")
    assert ("throttled", {"username": "ghost", "step": "password"}, "127.0.0.1") in rows
    assert all(PASSWORD not in str(detail) and "wrong password" not in str(detail) for _, detail, _ in rows)
    setup = browser.post("/staff/mfa/setup", data={"code": "000000", "csrf": csrf_of(step)})
    assert setup.status_code == 401
    assert refusals(district)[-1] == ("refused", {"username": "admin", "step": "code"}, "127.0.0.1")
