"""A badge at home over HTTP against the real server on loopback, on SQLite and PostgreSQL: the
policy (school over district over settings), the PIN at home, tighter limits, login CSRF, a home
session's apps, and an app's OIDC sign-in that goes on after the scan."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from badge_server import badges, clock, home_sign_in
from badge_server.store.db import transaction
from badge_server.store.models import App, AuditEvent, Person, SignInMethod, StudentSession
from tests.support.district import District
from tests.support.oidc_app import RelyingParty, register_app
from tests.support.servers import LoopbackServer

JOSE = "st-0001"  # kindergarten, Maple Street Elementary (district d-riverside)


def family_device(server: LoopbackServer) -> httpx.Client:
    """A family's laptop: never enrolled; its requests come from the scanner page's own script."""
    return httpx.Client(
        base_url=server.url, timeout=20, headers={"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    )


def scan_at_home(browser: httpx.Client, district: District, person_id: str = JOSE, **extra: str) -> httpx.Response:
    return browser.post("/scan/home", json={"badge": district.payloads[person_id], **extra})


def set_policy(district: District, org_id: str, **fields: object) -> None:
    values: dict[str, object] = {"home_sign_in": None, "home_grades": None, "home_pin_grades": None, **fields}
    with transaction(district.runtime.factory) as session:
        home_sign_in.set_policy(session, org_id, actor="test", **values)  # type: ignore[arg-type]


def home_audit(district: District) -> list[tuple[str, str | None]]:
    """(outcome, person) of every home scan: "ok", or the error code the child was shown."""
    with transaction(district.runtime.factory) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.kind == "badge.home").order_by(AuditEvent.id))
        return [(row.outcome, row.person_id) for row in rows]


def test_a_badge_signs_in_at_home_to_the_apps_allowed_at_home(server: LoopbackServer, district: District) -> None:
    with transaction(district.runtime.factory) as session:
        starfall = session.get(App, "starfall")
        assert starfall is not None
        starfall.home_allowed = False
    with family_device(server) as browser:
        assert browser.get("/scan/home/available").json() == {"available": True}
        answer = scan_at_home(browser, district)
        assert answer.status_code == 200, answer.text
        assert answer.json()["next"] == "/dashboard" and answer.json()["user"]["first_name"] == "José"
        dashboard = browser.get("/dashboard")
    assert "Hi, José!" in dashboard.text
    assert "Khan Academy Kids" in dashboard.text and "Starfall" not in dashboard.text
    with transaction(district.runtime.factory) as session:
        (started,) = session.scalars(select(StudentSession)).all()
        assert (started.client, started.method, started.device_id) == ("home", SignInMethod.BADGE, None)
        idle, lifetime = (
            district.runtime.settings.home_session_idle_seconds,
            district.runtime.settings.home_session_max_seconds,
        )
        assert started.idle_seconds == idle and started.expires_at - started.created_at <= timedelta(seconds=lifetime)
    assert home_audit(district) == [("ok", JOSE)]


def test_the_district_turns_it_off_and_a_school_turns_it_back_on(server: LoopbackServer, district: District) -> None:
    set_policy(district, "d-riverside", home_sign_in=False)
    with family_device(server) as browser:
        assert browser.get("/scan/home/available").json() == {"available": False}
        refused = scan_at_home(browser, district)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "home_sign_in_off"
        assert "Use your password" in refused.json()["error"]["message"]
        set_policy(district, "s-maple", home_sign_in=True)
        assert browser.get("/scan/home/available").json() == {"available": True}
        assert scan_at_home(browser, district).status_code == 200
        lake_student = next(p for p in district.payloads if p >= "st-0021")  # Lakeview: still the district's "off"
        assert scan_at_home(browser, district, lake_student).json()["error"]["code"] == "home_sign_in_off"
    assert home_audit(district) == [("home_sign_in_off", JOSE), ("ok", JOSE), ("home_sign_in_off", lake_student)]
    with transaction(district.runtime.factory) as session:
        maple = home_sign_in.policy_for(session, district.runtime.settings, "s-maple")
        lake = home_sign_in.policy_for(session, district.runtime.settings, "s-lake")
    assert maple.allowed and not lake.allowed and maple.grades == lake.grades  # grades still from settings


def test_a_pin_at_home_by_grade_and_a_kind_answer_when_none_is_set(server: LoopbackServer, district: District) -> None:
    set_policy(district, "d-riverside", home_pin_grades=["KG"])
    with family_device(server) as browser:
        assert scan_at_home(browser, district).json()["error"]["code"] == "pin_not_set"
        with transaction(district.runtime.factory) as session:
            person = session.get(Person, JOSE)
            assert person is not None
            badges.set_pin(session, person, "480317", actor="test")
        assert scan_at_home(browser, district).json()["error"]["code"] == "pin_required"
        assert scan_at_home(browser, district, pin="111111").json()["error"]["code"] == "pin_incorrect"
        assert scan_at_home(browser, district, pin="480317").status_code == 200
        assert scan_at_home(browser, district, "st-0011").status_code == 200  # grade 2: no PIN asked


def test_home_limits_are_tighter_and_end_with_the_minute(server: LoopbackServer, district: District) -> None:
    now = clock.utcnow()
    clock.advance(timedelta(seconds=60 - now.second - now.microsecond / 1e6 + 0.01))
    per_badge = district.runtime.settings.rate_home_per_badge_per_minute
    with family_device(server) as browser:
        for _ in range(per_badge):
            assert scan_at_home(browser, district).status_code == 200
        throttled = scan_at_home(browser, district)
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
        assert scan_at_home(browser, district, "st-0002").status_code == 200  # another badge, same house
        clock.advance(timedelta(seconds=61))
        assert scan_at_home(browser, district).status_code == 200


def test_another_site_cannot_sign_a_child_in(server: LoopbackServer, district: District) -> None:
    badge = district.payloads[JOSE]
    with httpx.Client(base_url=server.url, timeout=20) as browser:
        cross_site = browser.post("/scan/home", json={"badge": badge}, headers={"Sec-Fetch-Site": "cross-site"})
        other_origin = browser.post("/scan/home", json={"badge": badge}, headers={"Origin": "https://evil.example"})
        as_a_form = browser.post("/scan/home", data={"badge": badge})
        assert cross_site.status_code == other_origin.status_code == 403
        assert cross_site.json()["error"]["code"] == "csrf_rejected"
        assert as_a_form.status_code in (400, 403)
        assert "badge_session" not in browser.cookies
    with transaction(district.runtime.factory) as session:
        assert session.scalars(select(StudentSession)).all() == []


def test_an_apps_oidc_sign_in_at_home_goes_on_after_the_scan(server: LoopbackServer, district: District) -> None:
    app = RelyingParty(server.url, register_app(district.runtime))
    with family_device(server) as browser:
        waiting = browser.get(app.authorize_url())
        assert waiting.status_code == 303 and waiting.headers["location"] == "/scan"
        answer = scan_at_home(browser, district)
        assert answer.json()["next"] == "/sso/continue"
        back = browser.get("/sso/continue")
    assert back.status_code == 302
    claims = app.redeem(app.callback(back.headers["location"])["code"])["id_token"]
    assert claims["name"] == "José García"
