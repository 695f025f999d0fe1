"""An app that signs students in with OpenID Connect, for the SSO tests.

The relying party is pyoidc (PyPI ``oic``), a library independent of the server's Authlib: it
reads discovery, fetches the JWKS, and verifies the ID token's signature, issuer, audience and
nonce itself. A small HTTP server on loopback stands in for the app's pages.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from oic.oic import Client
from oic.oic.message import AuthorizationResponse, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from badge_server.clock import utcnow
from badge_server.runtime import Runtime
from badge_server.sso.oidc_clients import register_client
from badge_server.store.db import transaction
from badge_server.web.deps import DEVICE_COOKIE
from tests.support.district import District

CALLBACK = "https://app.example.org/callback"  # never served: the tests read the redirect's Location


@dataclass(frozen=True)
class Registered:
    client_id: str
    secret: str | None
    redirect_uri: str


def register_app(
    runtime: Runtime,
    *,
    public: bool = False,
    redirect_uri: str = CALLBACK,
    scopes: tuple[str, ...] = (),
    backchannel_logout_uri: str | None = None,
    app_id: str | None = None,
    initiate_login_uri: str | None = None,
) -> Registered:
    with transaction(runtime.factory) as session:
        new = register_client(
            session,
            runtime.keys,
            name="Reading Eggs",
            redirect_uris=[redirect_uri],
            public=public,
            scopes=list(scopes),
            initiate_login_uri=initiate_login_uri,
            backchannel_logout_uri=backchannel_logout_uri,
            app_id=app_id,
            actor="test",
            now=utcnow(),
        )
        return Registered(new.client.id, new.secret, redirect_uri)


@dataclass
class RelyingParty:
    """pyoidc configured from the server's discovery document, registered as ``app``."""

    issuer: str
    app: Registered
    client: Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
        self.client.provider_config(self.issuer)
        info = {"client_id": self.app.client_id, "redirect_uris": [self.app.redirect_uri]}
        if self.app.secret:
            info["client_secret"] = self.app.secret
        self.client.store_registration_info(RegistrationResponse(**info))

    def authorize_url(self, *, scope: str = "openid profile email", pkce: bool = False, **extra: str) -> str:
        """A fresh state and nonce each time; PKCE S256 when asked (pyoidc keeps the verifier)."""
        args: dict[str, Any] = {
            "client_id": self.app.client_id,
            "response_type": "code",
            "scope": scope.split(),
            "redirect_uri": self.app.redirect_uri,
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            **extra,
        }
        if pkce:
            challenge, self.code_verifier = self.client.add_code_challenge()
            args.update(challenge)
        request = self.client.construct_AuthorizationRequest(request_args=args)
        self.state, self.nonce = args["state"], args["nonce"]
        url: str = request.request(self.client.authorization_endpoint)
        return url

    def callback(self, location: str) -> Any:
        """Parse the redirect back to the app (pyoidc checks it is for the state it sent)."""
        assert location.startswith(self.app.redirect_uri), location
        return self.client.parse_response(AuthorizationResponse, info=urlsplit(location).query, sformat="urlencoded")

    def redeem(self, code: str, *, authn_method: str = "client_secret_basic", **extra: str) -> Any:
        """Code -> tokens; pyoidc verifies the ID token against the JWKS it fetched."""
        request_args: dict[str, str] = {"code": code, "redirect_uri": self.app.redirect_uri, **extra}
        if self.app.secret is None:
            request_args["client_id"] = self.app.client_id
            request_args.setdefault("code_verifier", self.code_verifier)
            authn_method = ""
        return self.client.do_access_token_request(
            state=self.state, request_args=request_args, authn_method=authn_method, skew=60
        )

    def userinfo(self, method: str = "GET", behavior: str = "use_authorization_header") -> Any:
        return self.client.do_user_info_request(method=method, state=self.state, behavior=behavior)


def browser_for(server_url: str, district: District) -> httpx.Client:
    """A browser on the district's enrolled scanner: its device cookie, no student session yet."""
    browser = httpx.Client(base_url=server_url, timeout=10, follow_redirects=False)
    browser.cookies.set(DEVICE_COOKIE, district.device_token)
    return browser


def scan(browser: httpx.Client, district: District, person_id: str) -> httpx.Response:
    """What the scanner page does when a badge is held up: exchange it, open the launch link."""
    answer = browser.post(
        "/api/v1/exchange", json={"badge": district.payloads[person_id]}, headers=district.device_headers
    )
    assert answer.status_code == 200, answer.text
    return browser.get(f"/launch/{answer.json()['launch_code']}")


def sign_in_through_scan(browser: httpx.Client, district: District, person_id: str, authorize_url: str) -> str:
    """Authorize without a session -> the scanner -> a scan -> back to the app; the app's Location."""
    waiting = browser.get(authorize_url)
    assert waiting.status_code == 303 and waiting.headers["location"] == "/scan", (
        waiting.status_code,
        waiting.headers,
        waiting.text,
    )
    launched = scan(browser, district, person_id)
    assert launched.headers.get("location") == "/sso/continue", launched.text
    resumed = browser.get("/sso/continue")
    assert resumed.status_code == 302, resumed.text
    location: str = resumed.headers["location"]
    return location


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


APP_PAGE = b'<!doctype html><html lang="en"><title>Reading Eggs</title><main><h1>Reading Eggs</h1></main></html>'


class AppServer:
    """The app on loopback: its callback page (GET, where the browser lands) and its back-channel
    logout endpoint (POST; each form received is recorded)."""

    def __init__(self) -> None:
        received: list[dict[str, list[str]]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(APP_PAGE)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.append(parse_qs(self.rfile.read(length).decode()))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.callback_url = f"{base}/callback"
        self.logout_url = f"{base}/backchannel-logout"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> AppServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
