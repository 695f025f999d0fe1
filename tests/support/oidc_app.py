"""An app that signs students in with OpenID Connect, on a real relying-party library (pyoidc).

pyoidc is independent of the Authlib the server uses, so a mistake in the server's protocol is
not mirrored by the same mistake in the test. It fetches discovery and JWKS, builds the
authorize request (with PKCE), redeems the code, verifies the ID token (signature, issuer,
audience, nonce) and reads userinfo.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from oic.oauth2.message import ErrorResponse
from oic.oic import Client
from oic.oic.message import AccessTokenResponse, AuthorizationResponse, OpenIDSchema, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from badge_server.clock import utcnow
from badge_server.runtime import Runtime
from badge_server.sso import oidc_clients
from badge_server.store.db import transaction
from tests.support.api import exchange

#: Never served: the browser's last redirect is read from the Location header, as an app would.
CALLBACK = "http://127.0.0.1:59321/callback"


@dataclass
class RelyingParty:
    """One registered app: its pyoidc client, and the sign-ins it started (state -> verifier)."""

    client_id: str
    client_secret: str | None
    client: Client
    verifiers: dict[str, str] = field(default_factory=dict)

    def authorize_url(self, scope: str = "openid profile email", **extra: str) -> tuple[str, str]:
        """A new sign-in's authorize URL and its state (PKCE S256 and a nonce every time)."""
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        pkce, verifier = self.client.add_code_challenge()
        self.verifiers[state] = verifier
        args = {
            "client_id": self.client_id,
            "response_type": "code",
            "scope": scope.split(),
            "nonce": nonce,
            "redirect_uri": CALLBACK,
            "state": state,
            **pkce,
            **extra,
        }
        request = self.client.construct_AuthorizationRequest(request_args=args)
        return request.request(self.client.authorization_endpoint), state

    def finish(self, location: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Redeem the code on the redirect, verify the ID token; the token's claims and userinfo."""
        assert location.startswith(CALLBACK), location
        answer = self.client.parse_response(AuthorizationResponse, info=urlsplit(location).query, sformat="urlencoded")
        assert isinstance(answer, AuthorizationResponse), answer
        state = answer["state"]
        method = "client_secret_basic" if self.client_secret else "public"
        args = {"code": answer["code"], "code_verifier": self.verifiers.pop(state), "redirect_uri": CALLBACK}
        if method == "public":
            args["client_id"] = self.client_id
        tokens = self.client.do_access_token_request(
            state=state, request_args=args, authn_method=None if method == "public" else method
        )
        assert isinstance(tokens, AccessTokenResponse), tokens.to_dict()
        info = self.client.do_user_info_request(state=state)
        assert isinstance(info, OpenIDSchema) and not isinstance(info, ErrorResponse), info
        return tokens["id_token"].to_dict(), info.to_dict()


def register_app(
    runtime: Runtime, issuer: str, *, public: bool = False, scopes: list[str] | None = None, **options: Any
) -> RelyingParty:
    """Register an OIDC client as an admin would, and a pyoidc client that knows it."""
    with transaction(runtime.factory) as db:
        made = oidc_clients.add_client(
            db,
            name="Test app",
            redirect_uris=[CALLBACK],
            public=public,
            actor="test",
            now=utcnow(),
            scopes=scopes,
            **options,
        )
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    client.provider_config(issuer)
    registration = {"client_id": made.client_id, "redirect_uris": [CALLBACK]}
    if made.client_secret:
        registration["client_secret"] = made.client_secret
    client.store_registration_info(RegistrationResponse(**registration))
    return RelyingParty(made.client_id, made.client_secret, client)


def scan_in_browser(browser: httpx.Client, kiosk: httpx.Client, device_token: str, badge: str) -> httpx.Response:
    """What the scanner page does after a read: exchange the badge, open the launch link.

    ``browser`` holds the device cookie (an enrolled scanner); its next answer is returned.
    """
    answer = exchange(kiosk, device_token, badge)
    assert answer.status_code == 200, answer.text
    return browser.get(answer.json()["launch_url"])


def follow_to_app(browser: httpx.Client, response: httpx.Response, limit: int = 8) -> str:
    """Follow the server's redirects until one leaves for the app; that Location."""
    for _ in range(limit):
        assert response.status_code in (302, 303), (response.status_code, response.text[:300])
        location = response.headers["location"]
        if location.startswith(CALLBACK):
            return location
        response = browser.get(location)
    raise AssertionError("the browser never reached the app")
