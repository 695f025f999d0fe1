"""The OpenID Connect provider end to end: a real relying-party library (pyoidc) as the app,
the real server on loopback, a badge scan in between; on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from badge_server import clock
from badge_server.runtime import Runtime
from badge_server.store.db import transaction
from badge_server.store.models import AuditEvent, Person
from badge_server.store.sso_models import OidcCode, OidcToken, Subject
from tests.support.api import audit_count
from tests.support.district import District
from tests.support.oidc_app import CALLBACK, RelyingParty, follow_to_app, register_app, scan_in_browser
from tests.support.servers import LoopbackServer

JOSE = "st-0001"


@pytest.fixture
def browser(server: LoopbackServer, district: District) -> Iterator[httpx.Client]:
    """A browser on an enrolled scanner (the Chromebook's sign-in page), no student yet."""
    with httpx.Client(base_url=server.url, cookies={"badge_device": district.device_token}, timeout=10) as client:
        yield client


@pytest.fixture
def app(runtime: Runtime, server: LoopbackServer) -> RelyingParty:
    return register_app(runtime, server.url, scopes=["openid", "profile", "email", "roster"])


def sign_in_through_app(
    app: RelyingParty, browser: httpx.Client, http: httpx.Client, district: District, scope: str
) -> tuple[dict[str, object], dict[str, object]]:
    url, _state = app.authorize_url(scope)
    waiting = browser.get(url)
    assert (waiting.status_code, waiting.headers["location"]) == (303, "/scan")
    assert "badge_sso_pending" in waiting.cookies  # the request waits server-side, not in the URL
    scanned = scan_in_browser(browser, http, district.device_token, district.payloads[JOSE])
    return app.finish(follow_to_app(browser, scanned))


def test_a_scan_signs_the_student_in_to_the_app_with_verified_claims(
    app: RelyingParty, browser: httpx.Client, http: httpx.Client, district: District, runtime: Runtime
) -> None:
    id_token, userinfo = sign_in_through_app(app, browser, http, district, "openid profile email roster")
    with transaction(runtime.factory) as db:
        subject = db.scalars(select(Subject.subject).where(Subject.person_id == JOSE)).one()
        jose = db.get(Person, JOSE)
        assert jose is not None
        display_name = jose.display_name
    assert id_token["sub"] == userinfo["sub"] == subject
    assert id_token["iss"] == str(http.base_url).rstrip("/")
    assert id_token["aud"] == [app.client_id]
    assert userinfo["name"] == display_name
    assert userinfo["school"] == "s-maple" and userinfo["roles"] == ["student"]
    assert audit_count(runtime, "oidc.authorize", "ok") == 1
    assert audit_count(runtime, "oidc.token", "ok") == 1


def test_with_a_session_the_app_gets_its_code_at_once_and_sub_survives_a_badge_replacement(
    app: RelyingParty, browser: httpx.Client, http: httpx.Client, district: District, runtime: Runtime
) -> None:
    first, _ = sign_in_through_app(app, browser, http, district, "openid")
    url, _state = app.authorize_url("openid")
    again = browser.get(url)
    assert again.status_code == 302 and again.headers["location"].startswith(CALLBACK)
    second, _ = app.finish(again.headers["location"])
    assert second["sub"] == first["sub"]


def test_an_unregistered_redirect_uri_gets_a_page_and_never_a_redirect(
    app: RelyingParty, browser: httpx.Client, runtime: Runtime
) -> None:
    url, _state = app.authorize_url("openid")
    evil = url.replace("59321%2Fcallback", "59321%2Fcallback%2Fevil")
    answer = browser.get(evil)
    assert answer.status_code == 400 and "location" not in answer.headers
    assert "ask your teacher" in answer.text.lower()
    with transaction(runtime.factory) as db:
        row = db.scalars(select(AuditEvent).where(AuditEvent.kind == "oidc.authorize")).one()
        assert row.outcome == "sso_refused" and "redirect uri" in row.detail["reason"].lower()
        assert db.scalars(select(OidcCode)).first() is None


def test_a_code_used_twice_is_refused_and_revokes_what_it_issued(
    app: RelyingParty, browser: httpx.Client, http: httpx.Client, district: District, runtime: Runtime
) -> None:
    url, state = app.authorize_url("openid")
    browser.get(url)
    location = follow_to_app(browser, scan_in_browser(browser, http, district.device_token, district.payloads[JOSE]))
    code = parse_qs(urlsplit(location).query)["code"][0]
    verifier = app.verifiers[state]
    app.finish(location)
    replay = http.post(
        "/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier},
        auth=(app.client_id, app.client_secret or ""),
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    with transaction(runtime.factory) as db:
        assert all(token.revoked_at is not None for token in db.scalars(select(OidcToken)))
    assert audit_count(runtime, "oidc.code_reused", "refused") == 1


def test_a_wrong_pkce_verifier_and_an_expired_code_issue_nothing(
    app: RelyingParty, browser: httpx.Client, http: httpx.Client, district: District, runtime: Runtime
) -> None:
    url, state = app.authorize_url("openid")
    browser.get(url)
    location = follow_to_app(browser, scan_in_browser(browser, http, district.device_token, district.payloads[JOSE]))
    code = parse_qs(urlsplit(location).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    auth = (app.client_id, app.client_secret or "")
    wrong = http.post("/token", data={**form, "code_verifier": "x" * 50}, auth=auth)
    missing = http.post("/token", data=form, auth=auth)
    assert (wrong.json()["error"], missing.json()["error"]) == ("invalid_grant", "invalid_request")
    clock.advance(timedelta(seconds=runtime.settings.oidc_code_seconds + 1))
    late = http.post("/token", data={**form, "code_verifier": app.verifiers[state]}, auth=auth)
    assert late.json()["error"] == "invalid_grant"
    with transaction(runtime.factory) as db:
        assert db.scalars(select(OidcToken)).first() is None
