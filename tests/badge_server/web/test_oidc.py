"""The OpenID Connect provider end to end: pyoidc, acting as the app, against the real server on
loopback, on SQLite and PostgreSQL. The student signs in by scanning their badge on the page the
authorize request leads to; the app verifies the ID token against the published JWKS."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from badge_server import badges, clock
from badge_server.store.db import transaction
from badge_server.store.models import AuditEvent, Person
from badge_server.store.sso_models import OidcToken, SsoSignIn
from tests.support.district import District
from tests.support.oidc_app import (
    AppServer,
    RelyingParty,
    browser_for,
    query_of,
    register_app,
    scan,
    sign_in_through_scan,
)
from tests.support.servers import LoopbackServer

JOSE = "st-0001"  # José García, Kindergarten, Maple Street


def test_an_app_signs_jose_in_with_the_code_flow_and_verifies_the_id_token_against_the_jwks(
    server: LoopbackServer, district: District
) -> None:
    app = register_app(district.runtime, scopes=("profile", "email", "roster"))
    rp = RelyingParty(server.url, app)
    with browser_for(server.url, district) as browser:
        location = sign_in_through_scan(browser, district, JOSE, rp.authorize_url(scope="openid profile email roster"))
        answer = rp.callback(location)
        assert answer["state"] == rp.state
        tokens = rp.redeem(answer["code"])
    id_token = tokens["id_token"]  # pyoidc verified signature (JWKS), iss, aud, exp and nonce
    assert id_token["iss"] == server.url and id_token["aud"] == [app.client_id]
    assert id_token["nonce"] == rp.nonce
    assert id_token["name"] == "José García" and id_token["given_name"] == "José"
    assert abs(id_token["auth_time"] - time.time()) < 60
    assert "at_hash" in id_token and id_token["sid"]

    claims = rp.userinfo()
    assert claims["sub"] == id_token["sub"]
    assert claims["family_name"] == "García" and claims["grade"] == "KG"
    assert claims["school"] == "Maple Street Elementary" and "student" in claims["roles"]

    # Checked once more without pyoidc: the header names the published key that signed it.
    raw = tokens["id_token"].jwt
    published = KeySet.import_key_set(httpx.get(f"{server.url}/oidc/jwks").json())
    decoded = jwt.decode(raw, published, algorithms=["RS256"])
    assert decoded.header["kid"] in {key.kid for key in published.keys}
    with transaction(district.runtime.factory) as session:
        kinds = set(session.scalars(select(AuditEvent.kind).where(AuditEvent.kind.like("oidc.%"))))
        assert {"oidc.authorize", "oidc.token", "oidc.client.add"} <= kinds
        assert session.scalars(select(SsoSignIn)).one().client_ref == app.client_id
        logged = " ".join(f"{row.detail} {row.actor}" for row in session.scalars(select(AuditEvent)))
    secrets = [app.secret or "", answer["code"], tokens["access_token"], raw, district.payloads[JOSE]]
    assert not [secret for secret in secrets if secret in logged], "no secret reaches the audit log"


def test_the_sub_is_stable_and_a_session_answers_at_once(server: LoopbackServer, district: District) -> None:
    app = register_app(district.runtime)
    rp = RelyingParty(server.url, app)
    with browser_for(server.url, district) as browser:
        first = rp.redeem(rp.callback(sign_in_through_scan(browser, district, JOSE, rp.authorize_url()))["code"])
        again = browser.get(rp.authorize_url())  # the session answers: no scanner this time
        assert again.status_code == 302
        second = rp.redeem(rp.callback(again.headers["location"])["code"])
    assert first["id_token"]["sub"] == second["id_token"]["sub"]
    assert JOSE not in first["id_token"]["sub"]


def test_a_public_client_signs_in_with_pkce_alone(server: LoopbackServer, district: District) -> None:
    app = register_app(district.runtime, public=True, redirect_uri="http://127.0.0.1:8765/callback")
    rp = RelyingParty(server.url, app)
    with browser_for(server.url, district) as browser:
        location = sign_in_through_scan(browser, district, JOSE, rp.authorize_url(pkce=True))
    tokens = rp.redeem(rp.callback(location)["code"])
    assert tokens["id_token"]["aud"] == [app.client_id]


def test_signing_out_ends_the_app_session_tells_the_app_and_needs_a_new_scan(
    server: LoopbackServer, district: District
) -> None:
    with AppServer() as receiver:
        app = register_app(district.runtime, backchannel_logout_uri=receiver.logout_url)
        rp = RelyingParty(server.url, app)
        with browser_for(server.url, district) as browser:
            tokens = rp.redeem(rp.callback(sign_in_through_scan(browser, district, JOSE, rp.authorize_url()))["code"])
            signed_out = browser.post("/logout")
            assert signed_out.status_code == 303
            deadline = time.monotonic() + 10
            while not receiver.received and time.monotonic() < deadline:
                time.sleep(0.05)
            again = browser.get(rp.authorize_url())
            assert again.headers["location"] == "/scan", "the next child on this device must scan"
        assert len(receiver.received) == 1
        logout_token = receiver.received[0]["logout_token"][0]
        published = KeySet.import_key_set(httpx.get(f"{server.url}/oidc/jwks").json())
        claims = jwt.decode(logout_token, published, algorithms=["RS256"]).claims
        assert claims["aud"] == app.client_id and claims["iss"] == server.url
        assert claims["sub"] == tokens["id_token"]["sub"] and claims["sid"] == tokens["id_token"]["sid"]
        assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
        assert "nonce" not in claims
    userinfo = httpx.get(f"{server.url}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.status_code == 401
    with transaction(district.runtime.factory) as session:
        assert session.scalars(select(OidcToken)).one().revoked_at is not None
        assert session.scalars(select(SsoSignIn)).one().logged_out_at is not None


def test_an_idle_session_means_a_new_scan(server: LoopbackServer, district: District) -> None:
    app = register_app(district.runtime)
    rp = RelyingParty(server.url, app)
    with browser_for(server.url, district) as browser:
        sign_in_through_scan(browser, district, JOSE, rp.authorize_url())
        clock.advance(timedelta(hours=2))
        assert browser.get(rp.authorize_url()).headers["location"] == "/scan"


def test_a_kiosk_sign_out_through_the_api_tells_the_app_too(server: LoopbackServer, district: District) -> None:
    with AppServer() as receiver:
        app = register_app(district.runtime, backchannel_logout_uri=receiver.logout_url)
        rp = RelyingParty(server.url, app)
        with browser_for(server.url, district) as browser:
            rp.redeem(rp.callback(sign_in_through_scan(browser, district, JOSE, rp.authorize_url()))["code"])
            session_token = browser.cookies["badge_session"]
        signed_out = httpx.post(f"{server.url}/api/v1/logout", headers={"Authorization": f"Bearer {session_token}"})
        assert signed_out.status_code == 200
        deadline = time.monotonic() + 10
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(receiver.received) == 1


def test_a_tile_starts_the_apps_own_sign_in_which_the_session_answers_at_once(
    server: LoopbackServer, district: District
) -> None:
    app = register_app(district.runtime, app_id="starfall", initiate_login_uri="https://app.example.org/login")
    rp = RelyingParty(server.url, app)
    with browser_for(server.url, district) as browser:
        scan(browser, district, JOSE)
        tapped = browser.get("/apps/starfall/open")
        assert tapped.status_code == 303
        started = query_of(tapped.headers["location"])
        assert tapped.headers["location"].startswith("https://app.example.org/login?")
        assert started["iss"] == server.url
        # The app answers with an authorize request: the session signs José in without a scan.
        answered = browser.get(rp.authorize_url())
    assert rp.redeem(rp.callback(answered.headers["location"])["code"])["id_token"]["given_name"] == "José"


def test_a_replaced_badge_ends_what_the_app_holds(server: LoopbackServer, district: District) -> None:
    """A lost badge replaced by the teacher: its session ends, so does the app's access."""
    app = register_app(district.runtime)
    rp = RelyingParty(server.url, app)
    with browser_for(server.url, district) as browser:
        tokens = rp.redeem(rp.callback(sign_in_through_scan(browser, district, JOSE, rp.authorize_url()))["code"])
        with transaction(district.runtime.factory) as session:
            person = session.get(Person, JOSE)
            assert person is not None
            badges.replace(session, district.runtime.keys, district.runtime.settings, person, actor="test")
        assert browser.get(rp.authorize_url()).headers["location"] == "/scan"
    userinfo = httpx.get(f"{server.url}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.status_code == 401


def test_an_app_that_never_answers_does_not_hold_up_the_sign_out(server: LoopbackServer, district: District) -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        hanging = f"http://127.0.0.1:{silent.getsockname()[1]}/logout"
        app = register_app(district.runtime, backchannel_logout_uri=hanging)
        rp = RelyingParty(server.url, app)
        with browser_for(server.url, district) as browser:
            rp.redeem(rp.callback(sign_in_through_scan(browser, district, JOSE, rp.authorize_url()))["code"])
            started = time.monotonic()
            signed_out = browser.post("/logout")
            took = time.monotonic() - started
        assert signed_out.status_code == 303 and took < 1.0, f"sign-out waited {took:.1f} s for the app"
        with transaction(district.runtime.factory) as session:
            assert session.scalars(select(SsoSignIn)).one().logged_out_at is not None
