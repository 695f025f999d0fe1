""" "Who am I?": a small app the demo serves beside the server, signed in to with OpenID Connect.

It is a relying party like any district app: it knows the server only by its public URL,
registers as an OIDC client (``badge-server demo`` does that), starts the code flow with PKCE,
redeems the code at the token endpoint over HTTP, verifies the ID token against the published
JWKS and reads userinfo. Then it says "Signed in as José García" and shows the claims it got,
so a newcomer sees the whole loop with one scan and one tap.

Its own sign-in state lives in process memory: it is a demo app, one process, nothing to keep.
"""

from __future__ import annotations

import html
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

PREFIX = "/demo-app"
COOKIE = "demo_app_session"
CONFIG_FILE = "demo-app.json"
STATE_SECONDS = 600
SCOPES = "openid profile email roster"


@dataclass(frozen=True)
class DemoAppConfig:
    """The demo app's registration: the server it trusts and its client credentials."""

    issuer: str
    client_id: str
    client_secret: str

    @property
    def redirect_uri(self) -> str:
        return f"{self.issuer}{PREFIX}/callback"

    @property
    def initiate_login_uri(self) -> str:
        return f"{self.issuer}{PREFIX}/login"

    @classmethod
    def read(cls, path: Path) -> DemoAppConfig | None:
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        return cls(data["issuer"], data["client_id"], data["client_secret"])


@dataclass
class _Waiting:
    nonce: str
    verifier: str
    created: float


class DemoApp:
    """The relying party's state: sign-ins under way (by ``state``) and signed-in browsers."""

    def __init__(self, config: DemoAppConfig) -> None:
        self.config = config
        self.waiting: dict[str, _Waiting] = {}
        self.signed_in: dict[str, dict[str, Any]] = {}

    def _discovery(self, client: httpx.Client) -> dict[str, Any]:
        answer = client.get(f"{self.config.issuer}/.well-known/openid-configuration")
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    def start(self) -> str:
        """The authorize URL of a new sign-in (code flow, PKCE S256, state and nonce)."""
        now = time.monotonic()
        self.waiting = {k: v for k, v in self.waiting.items() if now - v.created < STATE_SECONDS}
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)  # RFC 7636: 43 to 128 characters
        self.waiting[state] = _Waiting(nonce, verifier, now)
        with httpx.Client(timeout=10) as client:
            endpoint = self._discovery(client)["authorization_endpoint"]
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "scope": SCOPES,
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        return f"{endpoint}?{urlencode(query)}"

    def finish(self, state: str, code: str) -> dict[str, Any]:
        """Redeem the code, verify the ID token, read userinfo; the claims the app now knows."""
        waiting = self.waiting.pop(state, None)
        if waiting is None:
            raise ValueError("this sign-in was not started here, or took too long")
        with httpx.Client(timeout=10) as client:
            discovery = self._discovery(client)
            token = client.post(
                discovery["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.config.redirect_uri,
                    "code_verifier": waiting.verifier,
                },
                auth=(self.config.client_id, self.config.client_secret),
            )
            if token.status_code != 200:
                raise ValueError(f"the token endpoint refused the code: {token.text[:200]}")
            tokens = token.json()
            keys = KeySet.import_key_set(client.get(discovery["jwks_uri"]).json())
            id_token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": discovery["issuer"]},
                aud={"essential": True, "value": self.config.client_id},
                nonce={"essential": True, "value": waiting.nonce},
                exp={"essential": True},
            ).validate(id_token.claims)
            userinfo = client.get(
                discovery["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"}
            )
            userinfo.raise_for_status()
        return {"id_token": id_token.claims, "userinfo": userinfo.json()}


def page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><link rel="stylesheet" href="/static/kid.css"></head>
<body><main class="message">{body}</main></body></html>""",
        headers={"Cache-Control": "no-store"},
    )


def claims_table(claims: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(json.dumps(value, ensure_ascii=False))}</td></tr>"
        for key, value in sorted(claims.items())
    )
    return f"<table class='claims'>{rows}</table>"


def demo_app_router(app: DemoApp) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    @router.get("/")
    def home(request: Request) -> Response:
        signed_in = app.signed_in.get(request.cookies.get(COOKIE, ""))
        if signed_in is None:
            return page(
                "Who am I?",
                "<h1>Who am I?</h1><p>A demo app. It knows you only after the badge server signs you in.</p>"
                f"<p><a href='{PREFIX}/login'>Sign in with my badge</a></p>",
            )
        userinfo = signed_in["userinfo"]
        return page(
            "Who am I?",
            f"<h1>Signed in as {html.escape(str(userinfo.get('name', '?')))}</h1>"
            "<h2>The ID token said</h2>"
            f"{claims_table(signed_in['id_token'])}<h2>Userinfo said</h2>{claims_table(userinfo)}",
        )

    @router.get("/login")
    def login() -> RedirectResponse:
        # Also the client's initiate_login_uri: a dashboard tile starts here.
        return RedirectResponse(app.start(), status_code=303)

    @router.get("/callback")
    def callback(request: Request) -> Response:
        params = request.query_params
        if "error" in params:
            return page("Who am I?", f"<h1>Not signed in</h1><p>{html.escape(params['error'])}</p>")
        try:
            claims = app.finish(params.get("state", ""), params.get("code", ""))
        except (ValueError, KeyError, JoseError, httpx.HTTPError) as exc:
            return page("Who am I?", f"<h1>Not signed in</h1><p>{html.escape(str(exc))}</p>")
        browser = secrets.token_urlsafe(24)
        app.signed_in[browser] = claims
        response = RedirectResponse(f"{PREFIX}/", status_code=303)
        response.set_cookie(COOKIE, browser, httponly=True, samesite="lax", path=PREFIX)
        return response

    return router
