"""The OpenID Foundation's Basic OP conformance profile (oidcc-basic-certification-test-plan),
the checks that can run offline, each named after the suite's test module.

Not run here, and why:
- The suite itself (conformance.openid.net, or its Java server) needs the network and a public
  HTTPS issuer; these tests replay its requests against the server on loopback instead.
- oidcc-registration-* and oidcc-server-rotate-keys-with-dynamic-registration: there is no dynamic
  client registration, on purpose (a district registers its apps: badge-server oidc-client add).
- oidcc-refresh-token, oidcc-refresh-token-rp-key-rotation: no refresh tokens are issued (a child's
  app session ends with the identity session).
- oidcc-request-uri-*, oidcc-ensure-request-object-*: request objects are not supported; the one
  check for that (rejected as unsupported) is below.
- oidcc-scope-address, oidcc-scope-phone, oidcc-scope-all: the roster has no address or phone; a
  client asking for a scope it was not registered for gets invalid_scope.
- oidcc-userinfo-rs256, oidcc-idtoken-unsigned: userinfo answers plain JSON; ID tokens are always RS256.
- The suite's screenshot steps (oidcc-prompt-login's "was the user asked to sign in") are
  checked by what the browser is sent to: the badge scanner.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from badge_server import clock
from badge_server.store.db import transaction
from badge_server.store.models import Person
from tests.support.district import District
from tests.support.oidc_app import (
    Registered,
    RelyingParty,
    browser_for,
    query_of,
    register_app,
    scan,
    sign_in_through_scan,
)
from tests.support.servers import LoopbackServer

JOSE = "st-0001"


@pytest.fixture
def app(district: District) -> Registered:
    return register_app(district.runtime, scopes=("profile", "email"))


@pytest.fixture
def rp(server: LoopbackServer, app: Registered) -> RelyingParty:
    return RelyingParty(server.url, app)


@pytest.fixture
def browser(server: LoopbackServer, district: District) -> Iterator[httpx.Client]:
    """José's browser on the class scanner, signed in by a scan."""
    with browser_for(server.url, district) as client:
        assert scan(client, district, JOSE).headers["location"] == "/dashboard"
        yield client


def authorize_url(app: Registered, **overrides: str | None) -> str:
    parameters: dict[str, str | None] = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": app.redirect_uri,
        "scope": "openid",
        "state": "st4te",
        "nonce": "n0nce",
        **overrides,
    }
    return "/authorize?" + urlencode({k: v for k, v in parameters.items() if v is not None})


def code_of(answer: httpx.Response) -> str:
    assert answer.status_code == 302, answer.text
    returned = query_of(answer.headers["location"])
    assert "error" not in returned, returned
    return returned["code"]


def redeem(server: LoopbackServer, app: Registered, code: str) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri}
    return httpx.post(f"{server.url}/token", data=form, auth=(app.client_id, app.secret or ""))


def id_token_of(server: LoopbackServer, token_response: httpx.Response) -> dict[str, object]:
    assert token_response.status_code == 200, token_response.text
    keys = KeySet.import_key_set(httpx.get(f"{server.url}/oidc/jwks").json())
    claims: dict[str, object] = jwt.decode(token_response.json()["id_token"], keys, algorithms=["RS256"]).claims
    return claims


def test_oidcc_server(server: LoopbackServer, district: District, rp: RelyingParty) -> None:
    """oidcc-server: the code flow a certified RP library runs, ID token and userinfo verified."""
    with browser_for(server.url, district) as browser:
        location = sign_in_through_scan(browser, district, JOSE, rp.authorize_url())
    tokens = rp.redeem(rp.callback(location)["code"])
    assert tokens["token_type"] == "Bearer" and tokens["id_token"]["nonce"] == rp.nonce
    assert rp.userinfo()["sub"] == tokens["id_token"]["sub"]


def test_oidcc_discovery(server: LoopbackServer) -> None:
    """oidcc-discovery-*: issuer matches the URL it was fetched under; the required fields."""
    config = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    assert config["issuer"] == server.url
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        assert config[field].startswith(server.url)
    assert "RS256" in config["id_token_signing_alg_values_supported"]
    assert config["response_types_supported"] == ["code"] and "openid" in config["scopes_supported"]
    assert httpx.get(config["jwks_uri"]).json()["keys"][0]["kty"] == "RSA"


def test_oidcc_response_type_missing(browser: httpx.Client, app: Registered) -> None:
    """oidcc-response-type-missing: an error sent back to the app, never a code."""
    answer = browser.get(authorize_url(app, response_type=None))
    returned = query_of(answer.headers["location"])
    assert returned["error"] == "unsupported_response_type" and "code" not in returned
    assert returned["state"] == "st4te"


def test_oidcc_idtoken_signature_and_rs256(server: LoopbackServer, browser: httpx.Client, app: Registered) -> None:
    """oidcc-idtoken-signature, oidcc-idtoken-rs256: RS256, a kid in the JWKS, the claims Core requires."""
    answer = redeem(server, app, code_of(browser.get(authorize_url(app))))
    raw = answer.json()["id_token"]
    keys = KeySet.import_key_set(httpx.get(f"{server.url}/oidc/jwks").json())
    token = jwt.decode(raw, keys, algorithms=["RS256"])
    assert token.header["alg"] == "RS256" and token.header["kid"] in {key.kid for key in keys.keys}
    claims = token.claims
    assert claims["iss"] == server.url and claims["aud"] == [app.client_id] and claims["nonce"] == "n0nce"
    assert claims["exp"] > time.time() > claims["iat"] - 60 and "auth_time" in claims


@pytest.mark.parametrize("how", ["get", "post-header", "post-body"])
def test_oidcc_userinfo(server: LoopbackServer, browser: httpx.Client, app: Registered, how: str) -> None:
    """oidcc-userinfo-get, oidcc-userinfo-post-header, oidcc-userinfo-post-body."""
    access = redeem(server, app, code_of(browser.get(authorize_url(app, scope="openid profile")))).json()[
        "access_token"
    ]
    bearer = {"Authorization": f"Bearer {access}"}
    if how == "get":
        answer = httpx.get(f"{server.url}/userinfo", headers=bearer)
    elif how == "post-header":
        answer = httpx.post(f"{server.url}/userinfo", headers=bearer)
    else:
        answer = httpx.post(f"{server.url}/userinfo", data={"access_token": access})
    assert answer.status_code == 200 and answer.json()["name"] == "José García"


def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(
    server: LoopbackServer, browser: httpx.Client, app: Registered
) -> None:
    claims = id_token_of(server, redeem(server, app, code_of(browser.get(authorize_url(app, nonce=None)))))
    assert "nonce" not in claims


@pytest.mark.parametrize("email", ["jose.garcia@riverside.example", None])
def test_oidcc_scope_profile_and_email(
    server: LoopbackServer, browser: httpx.Client, district: District, app: Registered, email: str | None
) -> None:
    """oidcc-scope-profile, oidcc-scope-email: each scope its claims, email only where the roster has one."""
    with transaction(district.runtime.factory) as session:
        person = session.get(Person, JOSE)
        assert person is not None
        person.email = email
    claims = []
    for scope in ("openid profile", "openid email"):
        access = redeem(server, app, code_of(browser.get(authorize_url(app, scope=scope)))).json()["access_token"]
        claims.append(httpx.get(f"{server.url}/userinfo", headers={"Authorization": f"Bearer {access}"}).json())
    profile, with_email = claims
    assert profile["name"] == "José García" and profile["preferred_username"] and "email" not in profile
    assert with_email.get("email") == email and "name" not in with_email
    assert profile["sub"] == with_email["sub"]


def test_oidcc_ensure_other_scope_order_succeeds(browser: httpx.Client, app: Registered) -> None:
    code_of(browser.get(authorize_url(app, scope="email openid")))


def test_oidcc_prompt_login(server: LoopbackServer, district: District, browser: httpx.Client, app: Registered) -> None:
    """oidcc-prompt-login: a session is not enough; the scanner, then a newer auth_time."""
    before = id_token_of(server, redeem(server, app, code_of(browser.get(authorize_url(app)))))
    clock.advance(timedelta(seconds=5))
    waiting = browser.get(authorize_url(app, prompt="login"))
    assert waiting.status_code == 303 and waiting.headers["location"] == "/scan"
    assert scan(browser, district, JOSE).headers["location"] == "/sso/continue"
    after = id_token_of(server, redeem(server, app, code_of(browser.get("/sso/continue"))))
    assert int(str(after["auth_time"])) > int(str(before["auth_time"]))


def test_oidcc_prompt_none_not_logged_in(server: LoopbackServer, district: District, app: Registered) -> None:
    with browser_for(server.url, district) as browser:
        returned = query_of(browser.get(authorize_url(app, prompt="none")).headers["location"])
    assert returned["error"] == "login_required" and returned["state"] == "st4te"


def test_oidcc_prompt_none_logged_in(browser: httpx.Client, app: Registered) -> None:
    code_of(browser.get(authorize_url(app, prompt="none")))


def test_oidcc_max_age_1(server: LoopbackServer, district: District, browser: httpx.Client, app: Registered) -> None:
    """oidcc-max-age-1: a scan older than a second means a new scan; then auth_time is fresh."""
    clock.advance(timedelta(seconds=2))
    assert browser.get(authorize_url(app, max_age="1")).headers["location"] == "/scan"
    scan(browser, district, JOSE)
    clock.advance(timedelta(seconds=2))  # a slow child: the fresh scan still counts for this request
    claims = id_token_of(server, redeem(server, app, code_of(browser.get("/sso/continue"))))
    assert abs(int(str(claims["auth_time"])) - clock.utcnow().timestamp()) < 10


def test_oidcc_prompt_none_with_a_scan_older_than_max_age(browser: httpx.Client, app: Registered) -> None:
    """prompt=none cannot show the scanner: a too-old scan is login_required, sent back to the app."""
    clock.advance(timedelta(seconds=5))
    returned = query_of(browser.get(authorize_url(app, prompt="none", max_age="1")).headers["location"])
    assert returned["error"] == "login_required"


def test_oidcc_max_age_10000(browser: httpx.Client, app: Registered) -> None:
    code_of(browser.get(authorize_url(app, max_age="10000")))


@pytest.mark.parametrize("max_age", ["\u00b2", "\u0661\u0662", "ten"])
def test_a_max_age_that_is_not_ascii_digits_is_ignored_not_a_500(
    browser: httpx.Client, app: Registered, max_age: str
) -> None:
    code_of(browser.get(authorize_url(app, max_age=max_age)))


def test_oidcc_id_token_hint(server: LoopbackServer, browser: httpx.Client, app: Registered) -> None:
    """oidcc-id-token-hint: prompt=none with the ID token it had: signed in at once."""
    hint = redeem(server, app, code_of(browser.get(authorize_url(app)))).json()["id_token"]
    code_of(browser.get(authorize_url(app, prompt="none", id_token_hint=hint)))


def test_oidcc_codereuse(server: LoopbackServer, browser: httpx.Client, app: Registered) -> None:
    """oidcc-codereuse, oidcc-codereuse-30seconds: the second use fails and the first token dies."""
    code = code_of(browser.get(authorize_url(app)))
    access = redeem(server, app, code).json()["access_token"]
    clock.advance(timedelta(seconds=30))
    assert redeem(server, app, code).json()["error"] == "invalid_grant"
    bearer = {"Authorization": f"Bearer {access}"}
    assert httpx.get(f"{server.url}/userinfo", headers=bearer).status_code == 401


def test_oidcc_ensure_registered_redirect_uri(browser: httpx.Client, app: Registered) -> None:
    answer = browser.get(authorize_url(app, redirect_uri="https://attacker.example/callback"))
    assert answer.status_code == 400 and "location" not in answer.headers


def test_oidcc_ensure_redirect_uri_in_authorization_request(browser: httpx.Client, app: Registered) -> None:
    answer = browser.get(authorize_url(app, redirect_uri=None))
    assert answer.status_code == 400 and "location" not in answer.headers


def test_oidcc_server_client_secret_post(server: LoopbackServer, browser: httpx.Client, app: Registered) -> None:
    code = code_of(browser.get(authorize_url(app)))
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": app.redirect_uri,
        "client_id": app.client_id,
        "client_secret": app.secret or "",
    }
    id_token_of(server, httpx.post(f"{server.url}/token", data=form))


def test_oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
    browser: httpx.Client, app: Registered
) -> None:
    request_object = "eyJhbGciOiJub25lIn0.eyJzdGF0ZSI6InN0NHRlIn0."  # alg none
    returned = query_of(browser.get(authorize_url(app, request=request_object)).headers["location"])
    assert returned["error"] == "request_not_supported" and "code" not in returned


def test_oidcc_claims_essential(server: LoopbackServer, browser: httpx.Client, app: Registered) -> None:
    """The claims parameter is not supported (discovery says so); the request still succeeds."""
    claims = '{"userinfo": {"name": {"essential": true}}}'
    code = code_of(browser.get(authorize_url(app, scope="openid profile", claims=claims)))
    access = redeem(server, app, code).json()["access_token"]
    userinfo = httpx.get(f"{server.url}/userinfo", headers={"Authorization": f"Bearer {access}"}).json()
    assert userinfo["name"] == "José García"


@pytest.mark.parametrize(
    "extra",
    [
        {"extra": "foobar"},  # oidcc-ensure-request-with-unknown-parameter-succeeds
        {"acr_values": "1 2"},  # oidcc-ensure-request-with-acr-values-succeeds
        {"login_hint": "jose"},  # oidcc-login-hint
        {"ui_locales": "es"},  # oidcc-ui-locales
        {"claims_locales": "es"},  # oidcc-claims-locales
        {"display": "page"},  # oidcc-display-page
        {"display": "popup"},  # oidcc-display-popup
    ],
    ids=["unknown-parameter", "acr-values", "login-hint", "ui-locales", "claims-locales", "page", "popup"],
)
def test_oidcc_requests_with_optional_parameters_succeed(
    browser: httpx.Client, app: Registered, extra: dict[str, str]
) -> None:
    code_of(browser.get(authorize_url(app, **extra)))


def test_oidcc_ensure_post_request_succeeds(browser: httpx.Client, app: Registered) -> None:
    form = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": app.redirect_uri,
        "scope": "openid",
        "state": "st4te",
    }
    code_of(browser.post("/authorize", data=form))
