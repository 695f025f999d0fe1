"""Every bad OpenID Connect request gets a clear error, an audit row with the reason, and nothing
issued: unknown or disabled client, unregistered redirect URI (an error page, never a redirect),
missing or wrong PKCE, reused or expired code, a response type or scope the client may not use."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select

from badge_server import clock
from badge_server.store.db import transaction
from badge_server.store.models import AuditEvent
from badge_server.store.sso_models import OidcCode, OidcToken
from tests.support.district import District
from tests.support.oidc_app import CALLBACK, Registered, browser_for, query_of, register_app, scan
from tests.support.servers import LoopbackServer

JOSE = "st-0001"
VERIFIER = "the-right-verifier-" + "v" * 40  # fixed: xdist workers must collect the same ids
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture
def browser(server: LoopbackServer, district: District) -> Iterator[httpx.Client]:
    """José's browser, signed in by a scan."""
    with browser_for(server.url, district) as client:
        assert scan(client, district, JOSE).headers["location"] == "/dashboard"
        yield client


def authorize(browser: httpx.Client, app: Registered | None, **overrides: str | None) -> httpx.Response:
    parameters: dict[str, str | None] = {
        "response_type": "code",
        "client_id": app.client_id if app else "nobody",
        "redirect_uri": app.redirect_uri if app else CALLBACK,
        "scope": "openid profile",
        "state": "st4te",
        "nonce": "n0nce",
        **overrides,
    }
    return browser.get("/authorize?" + urlencode({k: v for k, v in parameters.items() if v is not None}))


def redeem(server: LoopbackServer, app: Registered, code: str, **extra: str) -> httpx.Response:
    auth = (app.client_id, app.secret) if app.secret else None
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri, **extra}
    if app.secret is None:
        form["client_id"] = app.client_id
    return httpx.post(f"{server.url}/token", data=form, auth=auth)


def issued(district: District) -> tuple[int, int]:
    with transaction(district.runtime.factory) as session:
        codes = session.scalar(select(func.count()).select_from(OidcCode)) or 0
        tokens = session.scalar(select(func.count()).select_from(OidcToken)) or 0
        return codes, tokens


def refusals(district: District, kind: str) -> list[tuple[str, str]]:
    with transaction(district.runtime.factory) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.kind == kind, AuditEvent.outcome != "ok"))
        return [(row.outcome, str(row.detail.get("reason", ""))) for row in rows]


def assert_error_page(answer: httpx.Response) -> None:
    assert answer.status_code == 400 and "location" not in answer.headers
    assert "text/html" in answer.headers["content-type"] and "ask your teacher" in answer.text.lower()


def test_an_unknown_client_gets_an_error_page_and_an_audit_row(browser: httpx.Client, district: District) -> None:
    assert_error_page(authorize(browser, None))
    assert refusals(district, "oidc.authorize") == [
        ("sso_refused", "invalid_client: The client does not exist on this server.")
    ]
    assert issued(district) == (0, 0)


def test_a_disabled_client_signs_nobody_in(browser: httpx.Client, district: District) -> None:
    from badge_server.sso.oidc_clients import disable_client

    app = register_app(district.runtime)
    with transaction(district.runtime.factory) as session:
        disable_client(session, app.client_id, "test", clock.utcnow())
    assert_error_page(authorize(browser, app))
    assert refusals(district, "oidc.authorize")[0][1].startswith("invalid_client")
    assert issued(district) == (0, 0)


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://evil.example/callback", CALLBACK + "/", CALLBACK + "?next=x", CALLBACK.upper(), None],
)
def test_a_redirect_uri_it_did_not_register_is_never_redirected_to(
    browser: httpx.Client, district: District, redirect_uri: str | None
) -> None:
    app = register_app(district.runtime)
    answer = authorize(browser, app, redirect_uri=redirect_uri)
    assert_error_page(answer)
    assert "evil" not in answer.text
    ((outcome, reason),) = refusals(district, "oidc.authorize")
    assert outcome == "sso_refused" and "redirect" in reason.lower()
    assert issued(district) == (0, 0)


def test_a_public_client_without_pkce_is_sent_back_with_an_error(browser: httpx.Client, district: District) -> None:
    app = register_app(district.runtime, public=True)
    answer = authorize(browser, app)
    assert answer.status_code == 302
    error = query_of(answer.headers["location"])
    assert error["error"] == "invalid_request" and error["state"] == "st4te"
    assert "PKCE" in error["error_description"]
    assert refusals(district, "oidc.authorize")[0][0] == "invalid_request"
    assert issued(district) == (0, 0)


def test_plain_pkce_is_refused(browser: httpx.Client, district: District) -> None:
    app = register_app(district.runtime, public=True)
    answer = authorize(browser, app, code_challenge=VERIFIER, code_challenge_method="plain")
    assert query_of(answer.headers["location"])["error"] == "invalid_request"
    assert issued(district) == (0, 0)


@pytest.mark.parametrize("verifier", [None, "a-wrong-verifier-" + "w" * 40], ids=["missing", "wrong"])
def test_a_missing_or_wrong_pkce_verifier_issues_nothing(
    server: LoopbackServer, browser: httpx.Client, district: District, verifier: str | None
) -> None:
    app = register_app(district.runtime, public=True)
    answer = authorize(browser, app, code_challenge=CHALLENGE, code_challenge_method="S256")
    code = query_of(answer.headers["location"])["code"]
    refused = redeem(server, app, code, **({"code_verifier": verifier} if verifier else {}))
    assert refused.status_code == 400
    assert refused.json()["error"] == ("invalid_grant" if verifier else "invalid_request")
    assert issued(district) == (1, 0)
    assert refusals(district, "oidc.token")
    # The code is burnt: even the right verifier no longer gets a token.
    assert redeem(server, app, code, code_verifier=VERIFIER).status_code == 400


def test_a_confidential_client_may_use_pkce(server: LoopbackServer, browser: httpx.Client, district: District) -> None:
    app = register_app(district.runtime)
    answer = authorize(browser, app, code_challenge=CHALLENGE, code_challenge_method="S256")
    code = query_of(answer.headers["location"])["code"]
    assert redeem(server, app, code, code_verifier="x" * 43).json()["error"] == "invalid_grant"
    answer = authorize(browser, app, code_challenge=CHALLENGE, code_challenge_method="S256")
    code = query_of(answer.headers["location"])["code"]
    assert redeem(server, app, code, code_verifier=VERIFIER).status_code == 200


def test_a_code_used_twice_revokes_the_token_it_issued(
    server: LoopbackServer, browser: httpx.Client, district: District
) -> None:
    app = register_app(district.runtime)
    code = query_of(authorize(browser, app).headers["location"])["code"]
    first = redeem(server, app, code)
    assert first.status_code == 200
    access = first.json()["access_token"]
    assert httpx.get(f"{server.url}/userinfo", headers={"Authorization": f"Bearer {access}"}).status_code == 200
    second = redeem(server, app, code)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert httpx.get(f"{server.url}/userinfo", headers={"Authorization": f"Bearer {access}"}).status_code == 401
    assert ("invalid_grant", "code_reused") in refusals(district, "oidc.token")


def test_an_expired_code_issues_nothing(server: LoopbackServer, browser: httpx.Client, district: District) -> None:
    app = register_app(district.runtime)
    code = query_of(authorize(browser, app).headers["location"])["code"]
    clock.advance(timedelta(seconds=district.runtime.settings.oidc_code_seconds + 1))
    refused = redeem(server, app, code)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert ("invalid_grant", "code_expired") in refusals(district, "oidc.token")
    assert issued(district) == (1, 0)


def test_a_code_for_another_client_or_a_wrong_secret_issues_nothing(
    server: LoopbackServer, browser: httpx.Client, district: District
) -> None:
    app = register_app(district.runtime)
    other = register_app(district.runtime)
    code = query_of(authorize(browser, app).headers["location"])["code"]
    assert redeem(server, other, code).json()["error"] == "invalid_grant"
    wrong = Registered(app.client_id, "not-the-secret", app.redirect_uri)
    refused = redeem(server, wrong, code)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert issued(district)[1] == 0


def test_a_client_disabled_after_the_code_gets_no_token(
    server: LoopbackServer, browser: httpx.Client, district: District
) -> None:
    from badge_server.sso.oidc_clients import disable_client

    app = register_app(district.runtime)
    code = query_of(authorize(browser, app).headers["location"])["code"]
    with transaction(district.runtime.factory) as session:
        disable_client(session, app.client_id, "test", clock.utcnow())
    refused = redeem(server, app, code)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert issued(district) == (1, 0)


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "none"])
def test_a_response_type_other_than_code_is_refused(
    browser: httpx.Client, district: District, response_type: str
) -> None:
    app = register_app(district.runtime)
    answer = authorize(browser, app, response_type=response_type)
    location = answer.headers["location"]
    assert query_of(location)["error"] in ("unsupported_response_type", "unauthorized_client")
    assert "#" not in location and "access_token" not in location
    assert refusals(district, "oidc.authorize")
    assert issued(district) == (0, 0)


def test_a_scope_the_client_was_not_registered_for_is_refused(browser: httpx.Client, district: District) -> None:
    app = register_app(district.runtime)  # openid profile email
    answer = authorize(browser, app, scope="openid profile roster")
    assert query_of(answer.headers["location"])["error"] == "invalid_scope"
    assert refusals(district, "oidc.authorize")[0][0] == "invalid_scope"
    assert issued(district) == (0, 0)


def test_userinfo_refuses_anything_but_a_live_access_token(server: LoopbackServer, district: District) -> None:
    with httpx.Client(base_url=server.url) as kiosk:
        from tests.support.api import sign_in

        session_token = sign_in(kiosk, district.device_token, district.payloads[JOSE])
    for token in (None, session_token, district.device_token, "x" * 43):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = httpx.get(f"{server.url}/userinfo", headers=headers)
        assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")


def test_a_server_reached_over_plain_http_refuses_clearly(server: LoopbackServer, district: District) -> None:
    """Behind a TLS proxy without BADGE_PUBLIC_URL the issuer would be http: refused, with the fix named."""
    app = register_app(district.runtime)
    with browser_for(server.url, district) as browser:
        query = {"response_type": "code", "client_id": app.client_id, "redirect_uri": app.redirect_uri}
        answer = browser.get("/authorize?" + urlencode(query), headers={"Host": "school.example"})
    assert_error_page(answer)
    ((outcome, reason),) = refusals(district, "oidc.authorize")
    assert outcome == "sso_refused" and "BADGE_PUBLIC_URL" in reason
