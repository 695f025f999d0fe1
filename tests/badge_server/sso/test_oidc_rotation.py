"""Signing key rotation as a relying party sees it: the new key is in the JWKS before anything is
signed with it, and the old one stays there until every ID token it signed has expired."""

from __future__ import annotations

from datetime import timedelta

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from badge_server import clock
from badge_server.sso.signing_keys import rotate
from badge_server.store.db import transaction
from tests.support.district import District
from tests.support.oidc_app import Registered, RelyingParty, browser_for, register_app, sign_in_through_scan
from tests.support.servers import LoopbackServer

JOSE = "st-0001"


def published(server: LoopbackServer) -> KeySet:
    return KeySet.import_key_set(httpx.get(f"{server.url}/oidc/jwks").json())


def signed_in_kid(server: LoopbackServer, district: District, app: Registered) -> tuple[str, str]:
    """A new sign-in (a scan) and its ID token: which key signed it, and the token."""
    rp = RelyingParty(server.url, app)
    with browser_for(server.url, district) as browser:
        code = rp.callback(sign_in_through_scan(browser, district, JOSE, rp.authorize_url()))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri}
    answer = httpx.post(f"{server.url}/token", data=form, auth=(app.client_id, app.secret or ""))
    raw: str = answer.json()["id_token"]
    return str(jwt.decode(raw, published(server), algorithms=["RS256"]).header["kid"]), raw


def test_a_new_key_is_published_before_it_signs_and_the_old_one_kept_until_its_tokens_expired(
    server: LoopbackServer, district: District
) -> None:
    runtime = district.runtime
    settings = runtime.settings
    app = register_app(runtime)
    old_kid, _ = signed_in_kid(server, district, app)
    with transaction(runtime.factory) as session:
        new_kid = rotate(session, runtime.keys, settings, clock.utcnow()).id

    # Published at once, so caches have it by the time it signs; the old key still signs.
    assert {key.kid for key in published(server).keys} == {old_kid, new_kid}
    still_old, last_old_token = signed_in_kid(server, district, app)
    assert still_old == old_kid

    clock.advance(timedelta(hours=settings.signing_key_publish_hours, seconds=1))
    assert signed_in_kid(server, district, app)[0] == new_kid
    # The old key's last ID tokens may still be presented: it is still published, and verifies them.
    assert {key.kid for key in published(server).keys} == {old_kid, new_kid}
    assert jwt.decode(last_old_token, published(server), algorithms=["RS256"]).claims["aud"] == [app.client_id]

    clock.advance(timedelta(seconds=max(settings.oidc_token_seconds, settings.saml_response_seconds)))
    assert {key.kid for key in published(server).keys} == {new_kid}
