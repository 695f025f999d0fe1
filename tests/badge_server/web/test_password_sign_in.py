"""Student passwords over HTTP against the real server on loopback, on SQLite and PostgreSQL: the
sign-in page in every flow (dashboard, OIDC, SAML), refusals that do not tell a username exists,
the throttle, claiming an account in grade 6, and who may change a password."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from badge_server import clock
from badge_server.store.db import transaction
from badge_server.store.models import AuditEvent, SignInMethod, StudentSession
from tests.support.api import exchange_while_held
from tests.support.district import District
from tests.support.oidc_app import RelyingParty, browser_for, register_app, scan
from tests.support.passwords import give, post_form, sign_in
from tests.support.saml import JOSE_EMAIL, give_email, idp_of, register
from tests.support.saml_sp import GoogleShapedSp, posted_form
from tests.support.servers import LoopbackServer

JOSE = "st-0001"  # username s00002, kindergarten


def home_browser(server: LoopbackServer) -> httpx.Client:
    """A family's laptop: never enrolled, no cookies."""
    return httpx.Client(base_url=server.url, timeout=20, follow_redirects=False)


def audited(district: District, kind: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    with transaction(district.runtime.factory) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id))
        return [(row.outcome, row.person_id, row.detail) for row in rows]


def sessions_of(district: District, person_id: str) -> list[StudentSession]:
    with transaction(district.runtime.factory) as session:
        query = select(StudentSession).where(StudentSession.person_id == person_id).order_by(StudentSession.created_at)
        return list(session.scalars(query))


def test_a_password_signs_a_student_in_at_home_and_a_wrong_one_tells_nothing(
    server: LoopbackServer, district: District
) -> None:
    password = give(district, JOSE, identifier="100234")
    with home_browser(server) as browser:
        wrong = sign_in(browser, "s00002", password + "x")
        unknown = sign_in(browser, "nobody-here", password)
        assert wrong.status_code == unknown.status_code == 401
        for page in (wrong, unknown):
            assert "That&#39;s not right. Try again." in page.text and "session" not in page.cookies
        assert 'value="s00002"' in wrong.text  # the child need not type the username again
        signed_in = sign_in(browser, "  S00002 ", password)  # any case, stray spaces
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/dashboard"
        dashboard = browser.get("/dashboard")
        assert dashboard.status_code == 200 and "José" in dashboard.text
    with home_browser(server) as other:
        assert sign_in(other, "100234", password).status_code == 303  # the student number works too
    started = sessions_of(district, JOSE)
    assert [(s.client, s.method, s.device_id, s.badge_id) for s in started] == [
        ("home", SignInMethod.PASSWORD, None, None)
    ] * 2
    outcomes = [
        (outcome, person, detail["username"]) for outcome, person, detail in audited(district, "password.sign_in")
    ]
    assert outcomes == [
        ("refused", JOSE, "s00002"),
        ("refused", None, "nobody-here"),
        ("ok", JOSE, "s00002"),
        ("ok", JOSE, "100234"),
    ]
    assert all(password not in str(detail) for _, _, detail in audited(district, "password.sign_in"))


def test_on_a_school_scanner_the_session_is_the_scanners(server: LoopbackServer, district: District) -> None:
    password = give(district, JOSE)
    with browser_for(server.url, district) as browser:
        assert sign_in(browser, "s00002", password).status_code == 303
    (started,) = sessions_of(district, JOSE)
    assert (started.client, started.device_id) == ("browser", district.device_id)


def test_the_form_cannot_be_posted_from_another_site(server: LoopbackServer, district: District) -> None:
    password = give(district, JOSE)
    with home_browser(server) as browser:
        forged = browser.post("/sign-in/password", data={"username": "s00002", "password": password, "csrf": "x"})
        assert forged.status_code == 400 and "try again" in forged.text
        browser.get("/sign-in/password")  # the cookie alone is not enough: the form must echo it
        forged = browser.post("/sign-in/password", data={"username": "s00002", "password": password, "csrf": "x"})
        assert forged.status_code == 400
    assert sessions_of(district, JOSE) == [] and audited(district, "password.sign_in") == []


def test_too_many_tries_wait_a_minute_then_the_right_password_works(server: LoopbackServer, district: District) -> None:
    password = give(district, JOSE)
    now = clock.utcnow()
    clock.advance(timedelta(seconds=60 - now.second - now.microsecond / 1e6 + 0.01))  # a fresh window
    limit = district.runtime.settings.rate_password_per_student_per_minute
    with home_browser(server) as browser:
        for _ in range(limit):
            assert sign_in(browser, "s00002", "guess").status_code == 401
        throttled = sign_in(browser, "s00002", password)  # even the right one, until the window ends
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
        assert "Too many tries. Wait" in throttled.text
        clock.advance(timedelta(seconds=61))
        assert sign_in(browser, "s00002", password).status_code == 303
    outcomes = [outcome for outcome, _, _ in audited(district, "password.sign_in")]
    assert outcomes == ["refused"] * limit + ["throttled", "ok"]


def test_a_badge_exchange_goes_through_while_a_password_is_being_checked(
    server: LoopbackServer, district: District, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The argon2 check runs outside any transaction: on SQLite a transaction holding the write
    lock across it would make this kiosk exchange wait until the check ended, which here it
    never would, as the check waits for the exchange."""
    password = give(district, "st-0002")
    with home_browser(server) as browser:
        browser.get("/sign-in/password")
        token = browser.cookies["badge_form"]
        form = {"username": "s00003", "password": password, "csrf": token}
        answer, results = exchange_while_held(
            monkeypatch,
            "badge_server.student_passwords.verify",
            lambda: browser.post("/sign-in/password", data=form).status_code,
            server.url,
            district.device_token,
            district.payloads[JOSE],
        )
    assert answer.status_code == 200, answer.text
    assert results == [303]


def test_an_apps_oidc_sign_in_at_home_goes_on_after_the_password(server: LoopbackServer, district: District) -> None:
    password = give(district, JOSE)
    app = RelyingParty(server.url, register_app(district.runtime))
    with home_browser(server) as browser:
        waiting = browser.get(app.authorize_url())
        assert waiting.status_code == 303 and waiting.headers["location"] == "/scan"
        scanner = browser.get("/scan")
        assert 'href="/sign-in/password"' in scanner.text  # the same page offers the password
        signed_in = sign_in(browser, "s00002", password)
        assert signed_in.headers["location"] == "/sso/continue"
        back = browser.get("/sso/continue")
    assert back.status_code == 302
    tokens = app.redeem(app.callback(back.headers["location"])["code"])
    claims = tokens["id_token"]
    assert claims["sub"] and claims["name"] == "José García"


def test_a_saml_sign_in_at_home_goes_on_after_the_password(server: LoopbackServer, district: District) -> None:
    password = give(district, JOSE)
    sp = GoogleShapedSp(f"{server.url}/saml/sso")
    register(district, sp)
    give_email(district)
    with home_browser(server) as browser:
        entity_id, certificate = idp_of(browser)
        request_id, xml = sp.authn_request()
        waiting = browser.post("/saml/sso", data=sp.post_form(xml), follow_redirects=True)
        assert waiting.url.path == "/scan"
        assert sign_in(browser, "s00002", password).headers["location"] == "/sso/continue"
        page = browser.get("/sso/continue")
    action, fields = posted_form(page.text)
    assert action == sp.acs_url
    assert sp.validate(fields["SAMLResponse"], certificate, entity_id, request_id).name_id == JOSE_EMAIL


def test_a_sixth_grader_chooses_their_own_password_at_the_first_sign_in(
    server: LoopbackServer, district: District
) -> None:
    given = give(district, JOSE, grade="06")
    with home_browser(server) as browser:
        first = sign_in(browser, "s00002", given)
        assert first.status_code == 303 and first.headers["location"] == "/sign-in/choose"
        assert "badge_session" not in browser.cookies  # not signed in until they choose
        assert browser.get("/dashboard").headers["location"] != "/dashboard"
        weak = post_form(browser, "/sign-in/choose", password="s00002rocks", again="s00002rocks")
        assert weak.status_code == 400 and "name or username" in weak.text
        short = post_form(browser, "/sign-in/choose", password="abc", again="abc")
        assert short.status_code == 400 and "at least 8" in short.text
        mismatch = post_form(browser, "/sign-in/choose", password="rocketpancake27", again="rocketpancake28")
        assert mismatch.status_code == 400 and "not the same" in mismatch.text
        chosen = post_form(browser, "/sign-in/choose", password="rocketpancake27", again="rocketpancake27")
        assert chosen.status_code == 303 and chosen.headers["location"] == "/dashboard"
        assert browser.get("/sign-in/choose").headers["location"] == "/sign-in/password"  # the claim is used up
    with home_browser(server) as browser:
        assert sign_in(browser, "s00002", given).status_code == 401  # the given one no longer works
        assert sign_in(browser, "s00002", "rocketpancake27").status_code == 303
    with transaction(district.runtime.factory) as session:
        from badge_server.store.account_models import StudentPassword

        record = session.get(StudentPassword, JOSE)
        assert record is not None and record.given_encrypted is None and not record.must_choose


def test_a_badge_session_cannot_change_a_password_and_a_password_session_can(
    server: LoopbackServer, district: District
) -> None:
    password = give(district, JOSE)
    with browser_for(server.url, district) as browser:
        scan(browser, district, JOSE)
        page = browser.get("/account/password")
        assert page.status_code == 403 and "Sign in with your password first" in page.text
        refused = browser.post(
            "/account/password",
            data={"current": password, "password": "newpassword42", "again": "newpassword42", "csrf": "x"},
        )
        assert refused.status_code == 403
    assert [(o, d["reason"]) for o, _, d in audited(district, "password.change")] == [("refused", "badge_session")]
    with home_browser(server) as browser:
        assert sign_in(browser, "s00002", password).status_code == 303
        wrong = post_form(browser, "/account/password", current="nope", password="tulipcomet58", again="tulipcomet58")
        assert wrong.status_code == 401 and "old password is not right" in wrong.text
        saved = post_form(browser, "/account/password", current=password, password="tulipcomet58", again="tulipcomet58")
        assert saved.status_code == 200 and "new password is saved" in saved.text
    with home_browser(server) as browser:
        assert sign_in(browser, "s00002", password).status_code == 401
        assert sign_in(browser, "s00002", "tulipcomet58").status_code == 303


def test_the_password_pages_speak_the_browsers_language(server: LoopbackServer, district: District) -> None:
    """Issue 18: a Spanish or Arabic family's laptop gets the sign-in page, and its refusal, in its language."""
    password = give(district, JOSE, identifier="100234")
    for accept, title, refusal, direction in (
        ("es-US,es;q=0.9", "Entra con tu contraseña", "No es correcto. Inténtalo otra vez.", "ltr"),
        ("ar", "ادخل بكلمة المرور", "هذا غير صحيح. حاول مرة أخرى.", "rtl"),
    ):
        with home_browser(server) as browser:
            browser.headers["Accept-Language"] = accept
            page = browser.get("/sign-in/password")
            assert f"<h1>{title}</h1>" in page.text and f'dir="{direction}"' in page.text
            wrong = sign_in(browser, "s00002", password + "x")
            assert wrong.status_code == 401 and refusal in wrong.text
