"""What a security read of single sign-on found, each attacked the way it was found and shown fixed.

1. A kiosk's sign-out ended the browser session its tile handed off, but never told the apps
   that browser had signed in to: the app stayed signed in in the kiosk's browser.
2. ``/authorize`` stored every request without a session, unthrottled and whatever its size.
3. A handed-off session answered ``max_age`` with the tap's time, not the scan's.
4. SAML ``ForceAuthn`` was answered from a live session.
5. A client secret, code or access token was accepted in a URL (which access logs keep).
6. Tokens outlived an idle session.
7. A deflated SAMLRequest was inflated without a cap.
"""

from __future__ import annotations

import base64
import time
import zlib
from datetime import timedelta

import httpx
import pytest
from lxml import etree
from sqlalchemy import func, select

from badge_server import clock
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.store.db import transaction
from badge_server.store.models import AuditEvent
from badge_server.store.sso_models import OidcCode, PendingSignIn, SsoSignIn
from tests.badge_server.sso.test_handoff import browser, handoff_url
from tests.support.api import sign_in
from tests.support.district import District
from tests.support.oidc_app import AppServer, RelyingParty, browser_for, query_of, register_app, sign_in_through_scan
from tests.support.saml import give_email, register, signed_in_browser
from tests.support.saml_sp import GoogleShapedSp
from tests.support.servers import LoopbackServer

JOSE = "st-0001"
FLOOD_LIMIT = 40  # per address per minute, for this module: a flood that is quick to send


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_per_address_per_minute": FLOOD_LIMIT})


def test_a_kiosk_sign_out_tells_the_apps_its_handed_off_browser_signed_in_to(
    server: LoopbackServer, http: httpx.Client, district: District
) -> None:
    with AppServer() as receiver:
        app = register_app(district.runtime, backchannel_logout_uri=receiver.logout_url)
        party = RelyingParty(server.url, app)
        kiosk_token = sign_in(http, district.device_token, district.payloads[JOSE])
        with browser(server) as kiosk_browser:
            kiosk_browser.get(handoff_url(http, district, kiosk_token))
            answered = kiosk_browser.get(party.authorize_url())
            assert answered.status_code == 302, answered.text
            party.redeem(party.callback(answered.headers["location"])["code"])
            signed_out = http.post("/api/v1/logout", headers={"Authorization": f"Bearer {kiosk_token}"})
            assert signed_out.status_code == 200
        deadline = time.monotonic() + 10
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(receiver.received) == 1
    with transaction(district.runtime.factory) as db:
        assert all(row.logged_out_at is not None for row in db.scalars(select(SsoSignIn)))


def test_authorize_without_a_session_is_throttled_and_keeps_only_protocol_parameters(
    server: LoopbackServer, district: District, runtime: Runtime
) -> None:
    party = RelyingParty(server.url, register_app(district.runtime))
    parameters = query_of(party.authorize_url())
    with httpx.Client(base_url=server.url) as attacker:
        padded = attacker.post("/authorize", data={**parameters, "filler": "A" * 60_000})
        too_long = attacker.post("/authorize", data={**parameters, "state": "A" * 5_000})
        statuses = [
            attacker.get(party.authorize_url()).status_code for _ in range(runtime.settings.rate_per_address_per_minute)
        ]
    assert padded.status_code == 303 and too_long.status_code == 400
    assert 429 in statuses
    with transaction(runtime.factory) as db:
        stored = db.scalars(select(PendingSignIn).order_by(PendingSignIn.created_at)).first()
        assert stored is not None and "filler" not in stored.parameters
        pending = db.scalar(select(func.count()).select_from(PendingSignIn)) or 0
        assert pending <= 2 * FLOOD_LIMIT


def test_a_handed_off_session_answers_max_age_with_the_scans_time(
    server: LoopbackServer, http: httpx.Client, district: District
) -> None:
    party = RelyingParty(server.url, register_app(district.runtime))
    kiosk_token = sign_in(http, district.device_token, district.payloads[JOSE])
    clock.advance(timedelta(seconds=200))
    http.get("/api/v1/me", headers={"Authorization": f"Bearer {kiosk_token}"})  # the kiosk is in use
    with browser(server) as kiosk_browser:
        kiosk_browser.get(handoff_url(http, district, kiosk_token))
        answered = kiosk_browser.get(party.authorize_url(max_age="60"))
    assert (answered.status_code, answered.headers["location"]) == (303, "/scan")  # older than 60 s: scan
    with transaction(district.runtime.factory) as db:
        assert db.scalars(select(OidcCode)).first() is None


def test_saml_force_authn_makes_the_child_scan_even_with_a_session(server: LoopbackServer, district: District) -> None:
    sp = GoogleShapedSp(f"{server.url}/saml/sso")
    register(district, sp)
    give_email(district)
    with signed_in_browser(server, district) as signed_in:
        _request_id, xml = sp.authn_request()
        root = etree.fromstring(xml)
        root.set("ForceAuthn", "true")
        answer = signed_in.get("/saml/sso", params=sp.redirect_query(etree.tostring(root)))
    assert (answer.status_code, answer.headers.get("location")) == (303, "/scan")


def test_secrets_in_a_url_are_refused(server: LoopbackServer, district: District) -> None:
    app = register_app(district.runtime)
    party = RelyingParty(server.url, app)
    with browser_for(server.url, district) as student_browser:
        location = sign_in_through_scan(student_browser, district, JOSE, party.authorize_url())
    form = {
        "grant_type": "authorization_code",
        "code": query_of(location)["code"],
        "redirect_uri": app.redirect_uri,
        "client_id": app.client_id,
        "client_secret": app.secret or "",
    }
    in_url = httpx.post(f"{server.url}/token", params=form)
    assert in_url.status_code in (400, 401) and "access_token" not in in_url.text
    tokens = httpx.post(f"{server.url}/token", data=form)
    assert tokens.status_code == 200, tokens.text
    access_token = tokens.json()["access_token"]
    assert httpx.get(f"{server.url}/userinfo", params={"access_token": access_token}).status_code == 401
    assert httpx.post(f"{server.url}/userinfo", data={"access_token": access_token}).status_code == 200


def test_an_access_token_stops_working_when_the_session_idles_out(server: LoopbackServer, district: District) -> None:
    app = register_app(district.runtime)
    party = RelyingParty(server.url, app)
    with browser_for(server.url, district) as student_browser:
        location = sign_in_through_scan(student_browser, district, JOSE, party.authorize_url())
    party.redeem(party.callback(location)["code"])
    assert party.userinfo().to_dict().get("sub")
    clock.advance(timedelta(seconds=district.runtime.settings.browser_session_idle_seconds + 1))
    assert "error" in party.userinfo().to_dict()


def test_an_inflating_saml_request_is_refused_without_inflating_it_all(
    server: LoopbackServer, district: District, runtime: Runtime
) -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = bomb.compress(b"<" + b"A" * 8_000_000) + bomb.flush()
    with httpx.Client(base_url=server.url) as attacker:
        answer = attacker.get("/saml/sso", params={"SAMLRequest": base64.b64encode(deflated).decode()})
    assert answer.status_code == 400
    with transaction(runtime.factory) as db:
        refusal = db.scalars(select(AuditEvent).where(AuditEvent.kind == "saml.sign_in")).one()
        assert refusal.detail["reason"] == "request_too_large"
