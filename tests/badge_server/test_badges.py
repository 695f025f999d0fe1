"""Every badge lifecycle transition, seen from a kiosk over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import TypeVar, cast

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server import badges, clock
from badge_server.contract.payload import parse_payload
from badge_server.errors import PolicyError
from badge_server.runtime import Runtime
from badge_server.store.db import transaction
from badge_server.store.models import AuditEvent, Badge, Person, StudentSession
from tests.support.api import audit_count, error_code, exchange, exchange_while_held, sign_in
from tests.support.district import District
from tests.support.servers import LoopbackServer

JOSE = "st-0001"  # Kindergarten, Maple Street
NOAH = "st-0031"  # grade 4 (PIN policy in the test settings), Lakeview

T = TypeVar("T")


def act(district: District, action: Callable[[Session, Runtime, Person], T], person_id: str = JOSE) -> T:
    runtime = district.runtime
    with transaction(runtime.factory) as session:
        person = session.get_one(Person, person_id)
        return action(session, runtime, person)


def test_reprint_gives_back_the_same_badge_and_is_audited(district: District) -> None:
    def reprint(session: Session, runtime: Runtime, person: Person) -> tuple[str, datetime | None]:
        badge = badges.current_badge(session, person.id)
        assert badge is not None
        return str(badges.reprint(session, runtime.keys, badge, actor="teacher").payload), badge.printed_at

    payload, printed_at = act(district, reprint)
    assert payload == district.payloads[JOSE]
    assert printed_at is not None
    assert audit_count(district.runtime, "badge.print") == 41  # 40 in the fixture + this one


def test_replace_stops_every_copy_of_the_old_badge_and_ends_its_sessions(
    http: httpx.Client, district: District
) -> None:
    old_session = sign_in(http, district.device_token, district.payloads[JOSE])
    new = act(district, lambda s, rt, p: str(badges.replace(s, rt.keys, rt.settings, p, actor="teacher").payload))
    parsed = parse_payload(new)
    assert parsed is not None and parsed.generation == 2
    old = exchange(http, district.device_token, district.payloads[JOSE])
    assert old.status_code == 409 and error_code(old) == "badge_replaced"
    assert "ask your teacher" in old.json()["error"]["message"].lower()
    assert http.get("/api/v1/me", headers={"Authorization": f"Bearer {old_session}"}).status_code == 401
    assert exchange(http, district.device_token, new).status_code == 200
    with transaction(district.runtime.factory) as session:
        ended = session.scalars(select(StudentSession).where(StudentSession.person_id == JOSE)).one()
        assert ended.end_reason == "replaced"


def test_a_replace_that_commits_after_the_exchange_still_stops_the_launch(
    http: httpx.Client, district: District
) -> None:
    code = exchange(http, district.device_token, district.payloads[JOSE]).json()["launch_code"]
    act(district, lambda s, rt, p: badges.replace(s, rt.keys, rt.settings, p, actor="teacher"))
    launch = http.post("/api/v1/launch", json={"launch_code": code}, headers=district.device_headers)
    assert launch.status_code == 403


def test_revoke_stops_the_badge_without_a_new_one(http: httpx.Client, district: District) -> None:
    token = sign_in(http, district.device_token, district.payloads[JOSE])
    act(district, lambda s, rt, p: badges.revoke(s, cast(Badge, badges.current_badge(s, p.id)), actor="teacher"))
    assert error_code(exchange(http, district.device_token, district.payloads[JOSE])) == "badge_not_accepted"
    assert http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    with pytest.raises(PolicyError, match="no active badge to replace"):
        act(district, lambda s, rt, p: badges.replace(s, rt.keys, rt.settings, p, actor="teacher"))


def test_badges_expire_after_the_district_lifetime_and_warn_thirty_days_ahead(
    http: httpx.Client, district: District
) -> None:
    assert act(district, lambda s, rt, p: badges.expiring_soon(s, rt.settings)) == []
    clock.advance(timedelta(days=340))
    warned = act(district, lambda s, rt, p: [b.person_id for b in badges.expiring_soon(s, rt.settings)])
    assert len(warned) == 40 and JOSE in warned
    assert exchange(http, district.device_token, district.payloads[JOSE]).status_code == 200
    clock.advance(timedelta(days=26))
    expired = exchange(http, district.device_token, district.payloads[JOSE])
    assert expired.status_code == 410 and error_code(expired) == "badge_expired"


def test_void_a_class_at_year_end_stops_only_that_class(http: httpx.Client, district: District) -> None:
    count = act(district, lambda s, rt, p: badges.void_class(s, "k-maple-kg", actor="admin"))
    assert count == 10
    assert exchange(http, district.device_token, district.payloads[JOSE]).status_code == 403
    assert exchange(http, district.device_token, district.payloads["st-0011"]).status_code == 200  # grade 2


def test_void_a_school_stops_every_badge_there(http: httpx.Client, district: District) -> None:
    count = act(district, lambda s, rt, p: badges.void_school(s, "s-lake", actor="admin"))
    assert count == 20
    assert exchange(http, district.device_token, district.payloads["st-0021"]).status_code == 403
    assert exchange(http, district.device_token, district.payloads[JOSE]).status_code == 200


def test_temporary_code_works_the_same_day_and_then_expires(http: httpx.Client, district: District) -> None:
    temp = act(district, lambda s, rt, p: str(badges.temporary_code(s, rt.keys, rt.settings, p, actor="t").payload))
    assert temp.startswith("BL1:T")
    assert sign_in(http, district.device_token, temp)
    assert exchange(http, district.device_token, district.payloads[JOSE]).status_code == 200  # badge still works
    clock.advance(timedelta(hours=4, seconds=1))
    assert error_code(exchange(http, district.device_token, temp)) == "badge_expired"


def test_a_new_temporary_code_cancels_the_previous_one_and_twelve_hours_is_the_limit(
    http: httpx.Client, district: District
) -> None:
    first = act(district, lambda s, rt, p: str(badges.temporary_code(s, rt.keys, rt.settings, p, actor="t").payload))
    second = act(
        district, lambda s, rt, p: str(badges.temporary_code(s, rt.keys, rt.settings, p, actor="t", hours=12).payload)
    )
    assert exchange(http, district.device_token, first).status_code == 403
    assert exchange(http, district.device_token, second).status_code == 200
    with pytest.raises(PolicyError, match="at most 12 hours"):
        act(district, lambda s, rt, p: badges.temporary_code(s, rt.keys, rt.settings, p, actor="t", hours=13))


@pytest.mark.parametrize(
    "pin", ["123456", "111111", "654321", "121212", "123123", "12345", "abcdef", "\u0663\u0668\u0661\u0669\u0662\u0667"]
)
def test_trivial_or_malformed_pins_are_refused(district: District, pin: str) -> None:
    with pytest.raises(PolicyError):
        act(district, lambda s, rt, p: badges.set_pin(s, p, pin, actor="t"), NOAH)


def test_pin_policy_asks_for_the_pin_and_checks_it(http: httpx.Client, district: District) -> None:
    act(district, lambda s, rt, p: badges.set_pin(s, p, "240817", actor="t"), NOAH)
    badge = district.payloads[NOAH]
    assert error_code(exchange(http, district.device_token, badge)) == "pin_required"
    wrong = exchange(http, district.device_token, badge, pin="240818")
    assert wrong.status_code == 423 and error_code(wrong) == "pin_incorrect"
    assert exchange(http, district.device_token, badge, pin="240817").status_code == 200
    # Kindergarten is outside the PIN policy: no PIN asked even if one is set.
    act(district, lambda s, rt, p: badges.set_pin(s, p, "240817", actor="t"))
    assert exchange(http, district.device_token, district.payloads[JOSE]).status_code == 200


def test_only_eligible_students_get_badges(district: District) -> None:
    with pytest.raises(PolicyError, match="badges are for active students"):
        act(district, lambda s, rt, p: badges.issue_badge(s, rt.keys, rt.settings, p, actor="t"), "t-rivera")
    with pytest.raises(PolicyError, match="already has an active badge"):
        act(district, lambda s, rt, p: badges.issue_badge(s, rt.keys, rt.settings, p, actor="t"))


def test_the_database_never_holds_a_badge_secret_in_clear(district: District) -> None:
    with transaction(district.runtime.factory) as session:
        stored = session.scalars(select(Badge)).all()
        dump = " ".join(f"{b.digest} {b.secret_encrypted!r} {b.reference}" for b in stored)
    for payload in district.payloads.values():
        assert payload[8:] not in dump


def test_pin_guesses_stop_for_the_day_and_the_teacher_can_see_whose_badge(
    http: httpx.Client, district: District
) -> None:
    """Issue 15, finding 13: 20 PIN guesses a minute, all day, had no cap (a million PINs in
    weeks). Now a badge has its PIN tries of the day; then "ask your teacher" until tomorrow."""
    act(district, lambda s, rt, p: badges.set_pin(s, p, "240817", actor="t"), NOAH)
    badge = district.payloads[NOAH]
    per_day = district.runtime.settings.pin_tries_per_badge_per_day
    now = clock.utcnow()
    # To the start of the UTC day's last hour, to the minute: whole hours alone left as little as
    # a minute of the day when the test ran late in an hour, and the tries ran into tomorrow.
    last_hour = datetime.combine(now.date(), time(23), tzinfo=UTC)
    clock.advance((last_hour if last_hour > now else last_hour + timedelta(days=1)) - now)
    tries = 0
    while tries < per_day:
        for _ in range(min(15, per_day - tries)):  # under the badge's 20 a minute
            assert exchange(http, district.device_token, badge, pin=f"{100000 + tries:06d}").status_code == 423
            tries += 1
        clock.advance(timedelta(seconds=61))
    refused = exchange(http, district.device_token, badge, pin="240817")  # even the right one, today
    assert refused.status_code == 429 and error_code(refused) == "pin_tries_used_up"
    assert "Ask your teacher" in refused.json()["error"]["message"]
    assert refused.headers.get("retry-after") is None, "no countdown of hours for a child"
    with transaction(district.runtime.factory) as session:
        row = session.scalars(
            select(AuditEvent).where(AuditEvent.outcome == "pin_tries_used_up").order_by(AuditEvent.id.desc())
        ).first()
        assert row is not None and row.person_id == NOAH and row.badge_id is not None
    clock.advance(timedelta(hours=2))  # tomorrow
    assert exchange(http, district.device_token, badge, pin="240817").status_code == 200


def test_a_kiosk_exchange_goes_through_while_a_pin_is_being_checked(
    server: LoopbackServer, district: District, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15, finding 1: the PIN's argon2 check ran inside the exchange's transaction, which on
    SQLite holds the write lock: here the check waits for another kiosk's exchange to finish, so
    that would never happen."""
    act(district, lambda s, rt, p: badges.set_pin(s, p, "240817", actor="t"), NOAH)
    _, other_token = district.enroll_device("the next kiosk")  # now: the test's own writes wait too
    with httpx.Client(base_url=server.url, timeout=30) as noah_kiosk:
        other, answers = exchange_while_held(
            monkeypatch,
            "badge_server.exchange.pin_hash_matches",
            lambda: exchange(noah_kiosk, district.device_token, district.payloads[NOAH], pin="240817").status_code,
            server.url,
            other_token,
            district.payloads[JOSE],
        )
    assert other.status_code == 200, other.text
    assert answers == [200]
