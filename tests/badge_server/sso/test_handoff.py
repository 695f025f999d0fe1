"""A native kiosk's tile hands the student's session to the browser it opens: the real server on
loopback, a real HTTP client as that browser, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from badge_server import clock
from badge_server.store.db import transaction
from badge_server.store.models import App, AuditEvent, StudentSession
from badge_server.store.sso_models import HandoffCode
from tests.support.api import audit_count, error_code, sign_in
from tests.support.district import District
from tests.support.servers import LoopbackServer
from tests.support.stub_app import StubApp

JOSE = "st-0001"
TRY_AGAIN = "Go back to the kiosk and tap your app again."


@pytest.fixture
def stub_app(district: District) -> Iterator[StubApp]:
    app = StubApp()
    with transaction(district.runtime.factory) as session:
        session.add(App(id="stub", name="Stub", launch_url=f"{app.url}/start?x=1", color="#123456", position=99))
    yield app
    app.close()


def ask_handoff(http: httpx.Client, district: District, session_token: str, app_id: str) -> httpx.Response:
    return http.post(
        "/api/v1/handoff",
        json={"app_id": app_id},
        headers={"Authorization": f"Bearer {session_token}", "X-Device-Token": district.device_token},
    )


def handoff_url(http: httpx.Client, district: District, session_token: str, app_id: str = "starfall") -> str:
    answer = ask_handoff(http, district, session_token, app_id)
    assert answer.status_code == 200, answer.text
    url: str = answer.json()["url"]
    return url


def browser(server: LoopbackServer, source: str = "127.0.0.1") -> httpx.Client:
    """A fresh browser profile; ``source`` is the address it connects from."""
    return httpx.Client(base_url=server.url, timeout=10, transport=httpx.HTTPTransport(local_address=source))


def refusal_reasons(district: District) -> list[str]:
    with transaction(district.runtime.factory) as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.kind == "handoff.redeem", AuditEvent.outcome != "ok")
        )
        return [row.detail["reason"] for row in rows]


def session_count(district: District) -> int:
    with transaction(district.runtime.factory) as session:
        return int(session.scalar(select(func.count()).select_from(StudentSession)) or 0)


def assert_refused_page(answer: httpx.Response) -> None:
    assert answer.status_code == 400 and answer.headers["content-type"].startswith("text/html")
    assert TRY_AGAIN in answer.text
    assert "badge_session" not in answer.headers.get("set-cookie", "")


def test_a_tile_lands_the_kiosk_browser_signed_in_on_the_app(
    server: LoopbackServer,
    http: httpx.Client,
    district: District,
    stub_app: StubApp,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # httpx logs every URL the browser visits
    for server_logger in ("badge_server", "uvicorn", "uvicorn.access", "uvicorn.error"):
        caplog.set_level(logging.DEBUG, logger=server_logger)
    kiosk_token = sign_in(http, district.device_token, district.payloads[JOSE])
    answer = ask_handoff(http, district, kiosk_token, "stub")
    assert answer.status_code == 200, answer.text
    url, expires_in = answer.json()["url"], answer.json()["expires_in"]
    assert url.startswith(f"{server.url}/handoff/") and expires_in == 10
    code = url.rsplit("/", 1)[1]
    assert len(code) >= 32  # 192 random bits, base64url
    with browser(server) as chromium:
        redeemed = chromium.get(url)
        assert redeemed.status_code == 303 and redeemed.headers["location"] == "/apps/stub/open"
        cookie = redeemed.headers["set-cookie"]
        assert cookie.startswith("badge_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # plain http on loopback; https sets Secure
        assert redeemed.headers["cache-control"] == "no-store"
        browser_token = chromium.cookies["badge_session"]
        opened = chromium.get("/apps/stub/open", follow_redirects=True)
        assert opened.status_code == 200 and opened.url == f"{stub_app.url}/start?x=1"
        assert stub_app.reached == ["/start?x=1"]
        assert chromium.get("/api/v1/me").json()["display_name"] == "José García"
        visited = [str(step.url) for step in (redeemed, *opened.history, opened)]
    with transaction(district.runtime.factory) as session:
        kiosk = session.scalars(select(StudentSession).where(StudentSession.client == "kiosk")).one()
        handed = session.scalars(select(StudentSession).where(StudentSession.handed_off_from == kiosk.id)).one()
        assert handed.person_id == JOSE and handed.client == "browser" and handed.device_id == district.device_id
        assert handed.idle_seconds == kiosk.idle_seconds == 300 and handed.expires_at == kiosk.expires_at
        stored = session.scalars(select(HandoffCode)).one()
        assert stored.digest != code and code not in stored.digest and stored.used_at is not None
        audit_text = " ".join(
            f"{row.kind} {row.detail} {row.source_ip} {row.device_id}" for row in session.scalars(select(AuditEvent))
        )
    assert audit_count(district.runtime, "handoff.issue", "ok") == 1
    assert audit_count(district.runtime, "handoff.redeem", "ok") == 1
    assert audit_count(district.runtime, "app.launch", "ok") == 1
    for secret in (kiosk_token, browser_token):
        assert not any(secret in step for step in visited), "a session token travelled in a URL"
        assert secret not in caplog.text and secret not in audit_text
    assert code not in audit_text  # the code is in the access log's path: spent, and dead in seconds
    assert "/handoff/" in caplog.text  # the logs were captured


def test_an_sso_tile_goes_on_into_the_apps_sign_in(
    server: LoopbackServer, http: httpx.Client, district: District
) -> None:
    """With the session set, ``/apps/{id}/open`` does the rest: here a SAML app's IdP-initiated sign-in."""
    with transaction(district.runtime.factory) as session:
        app = session.get_one(App, "starfall")
        app.sso_protocol, app.sso_ref = "saml", "sp-missing"  # a registration that is gone: the plain link
    kiosk_token = sign_in(http, district.device_token, district.payloads[JOSE])
    with browser(server) as chromium:
        landed = chromium.get(handoff_url(http, district, kiosk_token))
        opened = chromium.get(landed.headers["location"])
        assert opened.status_code == 303 and opened.headers["location"] == "https://www.starfall.com/h/"


def test_a_code_works_once(server: LoopbackServer, http: httpx.Client, district: District) -> None:
    kiosk_token = sign_in(http, district.device_token, district.payloads[JOSE])
    url = handoff_url(http, district, kiosk_token)
    with browser(server) as first:
        assert first.get(url).status_code == 303
    sessions_before = session_count(district)
    with browser(server) as second:
        assert_refused_page(second.get(url))
        assert second.get("/api/v1/me").status_code == 401
    assert session_count(district) == sessions_before
    assert refusal_reasons(district) == ["handoff_code_used"]


def test_a_code_lives_only_seconds(server: LoopbackServer, http: httpx.Client, district: District) -> None:
    kiosk_token = sign_in(http, district.device_token, district.payloads[JOSE])
    url = handoff_url(http, district, kiosk_token)
    clock.advance(timedelta(seconds=district.runtime.settings.handoff_code_seconds + 1))
    with browser(server) as chromium:
        assert_refused_page(chromium.get(url))
    assert refusal_reasons(district) == ["handoff_code_expired"]


def test_a_code_is_refused_from_another_address_and_still_works_from_the_kiosk(
    server: LoopbackServer, http: httpx.Client, district: District
) -> None:
    kiosk_token = sign_in(http, district.device_token, district.payloads[JOSE])
    url = handoff_url(http, district, kiosk_token)
    sessions_before = session_count(district)
    with browser(server, source="127.0.0.2") as elsewhere:
        assert_refused_page(elsewhere.get(url))
    assert session_count(district) == sessions_before
    assert refusal_reasons(district) == ["handoff_wrong_address"]
    with transaction(district.runtime.factory) as session:
        row = session.scalars(
            select(AuditEvent).where(AuditEvent.kind == "handoff.redeem", AuditEvent.outcome != "ok")
        ).one()
        assert row.source_ip == "127.0.0.2" and row.device_id == district.device_id and row.person_id == JOSE
    with browser(server) as kiosk_browser:
        assert kiosk_browser.get(url).status_code == 303


def test_an_unknown_or_malformed_code_is_refused(server: LoopbackServer, district: District) -> None:
    with browser(server) as chromium:
        assert_refused_page(chromium.get("/handoff/" + "A" * 32))
        assert_refused_page(chromium.get("/handoff/x"))
        assert_refused_page(chromium.get("/handoff/" + "é" * 300))
    assert refusal_reasons(district) == ["handoff_code_unknown"] * 3


def test_of_browsers_racing_to_redeem_one_code_exactly_one_wins(
    server: LoopbackServer, http: httpx.Client, district: District
) -> None:
    kiosk_token = sign_in(http, district.device_token, district.payloads[JOSE])
    url = handoff_url(http, district, kiosk_token)
    start = threading.Barrier(6)
    statuses: list[int] = []

    def redeem() -> None:
        with browser(server) as racer:
            start.wait(5)
            statuses.append(racer.get(url).status_code)

    racers = [threading.Thread(target=redeem) for _ in range(6)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(30)
    assert sorted(statuses) == [303] + [400] * 5
    with transaction(district.runtime.factory) as session:
        handed = session.scalars(select(StudentSession).where(StudentSession.handed_off_from.is_not(None))).all()
    assert len(handed) == 1
    assert refusal_reasons(district) == ["handoff_code_used"] * 5


@pytest.mark.parametrize("app_id", ["code-org", "no-such-app"])  # grades 2-5 only (José is in KG); none
def test_an_app_not_on_the_students_dashboard_gets_no_code(http: httpx.Client, district: District, app_id: str) -> None:
    kiosk_token = sign_in(http, district.device_token, district.payloads[JOSE])
    answer = ask_handoff(http, district, kiosk_token, app_id)
    assert answer.status_code == 400 and error_code(answer) == "sso_refused"
    assert "not on your dashboard" in answer.json()["error"]["message"]
    with transaction(district.runtime.factory) as session:
        assert session.scalar(select(func.count()).select_from(HandoffCode)) == 0
        row = session.scalars(select(AuditEvent).where(AuditEvent.kind == "handoff.issue")).one()
        assert row.outcome == "sso_refused" and row.detail["reason"] == "app_not_for_student"
        assert row.person_id == JOSE and row.device_id == district.device_id


def test_only_the_kiosk_that_holds_the_session_may_hand_it_off(
    server: LoopbackServer, http: httpx.Client, district: District
) -> None:
    kiosk_token = sign_in(http, district.device_token, district.payloads[JOSE])
    _other_id, other_token = district.enroll_device()
    as_other = http.post(
        "/api/v1/handoff",
        json={"app_id": "starfall"},
        headers={"Authorization": f"Bearer {kiosk_token}", "X-Device-Token": other_token},
    )
    assert as_other.status_code == 401 and error_code(as_other) == "session_not_valid"
    no_device = http.post(
        "/api/v1/handoff", json={"app_id": "starfall"}, headers={"Authorization": f"Bearer {kiosk_token}"}
    )
    assert no_device.status_code == 401 and error_code(no_device) == "device_not_authorized"
    no_session = http.post(
        "/api/v1/handoff", json={"app_id": "starfall"}, headers={"X-Device-Token": district.device_token}
    )
    assert no_session.status_code == 401 and error_code(no_session) == "session_not_valid"
    with browser(server) as chromium:
        chromium.get(handoff_url(http, district, kiosk_token))
        handed_token = chromium.cookies["badge_session"]
    onward = ask_handoff(http, district, handed_token, "starfall")  # a handed-off session cannot hand itself on
    assert onward.status_code == 401 and error_code(onward) == "session_not_valid"
    assert audit_count(district.runtime, "handoff.issue", "session_not_valid") == 3
    assert audit_count(district.runtime, "handoff.issue", "device_not_authorized") == 1


def test_a_handed_off_dashboard_ends_when_its_kiosk_session_idles_out(
    server: LoopbackServer, http: httpx.Client, district: District
) -> None:
    """Nobody signs out: the kiosk's session just idles out, and the browser's dashboard (read on
    the driver's cursor, sessions.signed_in) goes with it, though its own idle time has not run."""
    kiosk_token = sign_in(http, district.device_token, district.payloads[JOSE])
    idle = district.runtime.settings.kiosk_session_idle_seconds
    with browser(server) as chromium:
        chromium.get(handoff_url(http, district, kiosk_token))  # the kiosk's last activity
        clock.advance(timedelta(seconds=idle - 100))
        assert chromium.get("/dashboard").status_code == 200  # the browser's, 100 s before the kiosk idles out
        clock.advance(timedelta(seconds=101))
        assert chromium.get("/dashboard").headers["location"] == "/signed-out"


def test_signing_out_on_the_kiosk_ends_the_browser_session_it_handed_off(
    server: LoopbackServer, http: httpx.Client, district: District
) -> None:
    kiosk_token = sign_in(http, district.device_token, district.payloads[JOSE])
    with browser(server) as chromium:
        chromium.get(handoff_url(http, district, kiosk_token))
        assert chromium.get("/dashboard").status_code == 200
        signed_out = http.post("/api/v1/logout", headers={"Authorization": f"Bearer {kiosk_token}"})
        assert signed_out.status_code == 200
        assert chromium.get("/api/v1/me").status_code == 401
        assert chromium.get("/dashboard").headers["location"] == "/signed-out"  # nobody's apps
    with transaction(district.runtime.factory) as session:
        ended = {row.client: row.end_reason for row in session.scalars(select(StudentSession))}
    assert ended == {"kiosk": "logout", "browser": "logout"}
    assert audit_count(district.runtime, "session.end") == 2


def test_the_kiosk_sessions_idle_time_out_ends_the_browser_session_too(
    server: LoopbackServer, http: httpx.Client, district: District
) -> None:
    """The kiosk may never say goodbye (switched off): its session idles out on the server, and
    the browser session handed off from it ends with it even while the browser is in use."""
    kiosk_token = sign_in(http, district.device_token, district.payloads[JOSE])
    idle = district.runtime.settings.kiosk_session_idle_seconds
    with browser(server) as chromium:
        chromium.get(handoff_url(http, district, kiosk_token))
        clock.advance(timedelta(seconds=idle * 2 // 3))
        assert chromium.get("/api/v1/me").status_code == 200  # the browser is in use...
        clock.advance(timedelta(seconds=idle * 2 // 3))
        assert chromium.get("/api/v1/me").status_code == 401  # ...but the kiosk's session idled out


def test_a_code_from_a_kiosk_session_that_ended_is_refused(
    server: LoopbackServer, http: httpx.Client, district: District
) -> None:
    kiosk_token = sign_in(http, district.device_token, district.payloads[JOSE])
    url = handoff_url(http, district, kiosk_token)
    http.post("/api/v1/logout", headers={"Authorization": f"Bearer {kiosk_token}"})
    with browser(server) as chromium:
        assert_refused_page(chromium.get(url))
    assert refusal_reasons(district) == ["kiosk_session_ended"]


def test_a_handoff_replaces_whoever_was_signed_in_in_that_browser(
    server: LoopbackServer, http: httpx.Client, district: District
) -> None:
    first = sign_in(http, district.device_token, district.payloads[JOSE])
    with browser(server) as chromium:
        chromium.get(handoff_url(http, district, first))
        jose_browser = chromium.cookies["badge_session"]
        http.post("/api/v1/logout", headers={"Authorization": f"Bearer {first}"})
        second = sign_in(http, district.device_token, district.payloads["st-0002"])
        chromium.get(handoff_url(http, district, second))
        assert chromium.get("/api/v1/me").json()["first_name"] == "Zoë"
    with httpx.Client(base_url=server.url, cookies={"badge_session": jose_browser}) as stale:
        assert stale.get("/api/v1/me").status_code == 401
