"""The OpenID Connect endpoints: discovery, JWKS, authorize, token and userinfo.

Authlib has no FastAPI integration; ``sso.oidc.ParametersRequest`` is the adapter, built here
from a Starlette request (or, after a scan, from the stored request). Routes are synchronous
like the rest of the server; the parameters are read by an async dependency.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.clock import utcnow
from badge_server.contract.words import N_
from badge_server.errors import SsoRefused
from badge_server.ratelimit import Limit, enforce_limits
from badge_server.runtime import Runtime
from badge_server.sso.oidc import (
    WAITING_SINCE,
    Answer,
    OidcProvider,
    authorize,
    discovery,
    issue_tokens,
    userinfo,
)
from badge_server.sso.oidc_authlib import ParametersRequest
from badge_server.sso.signing_keys import ensure_signing_key, jwks
from badge_server.store.models import StudentSession
from badge_server.store.sso_models import SsoProtocol
from badge_server.web.after_scan import RESUME_AFTER_SCAN
from badge_server.web.deps import (
    ClientIP,
    OAuthParameters,
    RuntimeDep,
    SessionDep,
    address_of,
    audit_failures_as,
    bearer_token,
    browser_student,
)
from badge_server.web.sso_pages import issuer_of, wait_for_scan

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _provider(request: Request, db: Session, runtime: Runtime) -> OidcProvider:
    return OidcProvider(db, runtime.keys, runtime.settings, issuer_of(request, runtime), utcnow())


def _response(answer: Answer) -> Response:
    if answer.location is not None:
        return RedirectResponse(answer.location, status_code=302, headers=NO_STORE)
    headers = {name: value for name, value in answer.headers if name.lower() != "content-type"}
    return JSONResponse(answer.body, status_code=answer.status, headers={**headers, **NO_STORE})


@router.get("/.well-known/openid-configuration")
def openid_configuration(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    return discovery(issuer_of(request, runtime))


@router.get("/oidc/jwks")
def json_web_keys(db: SessionDep, runtime: RuntimeDep) -> JSONResponse:
    now = utcnow()
    ensure_signing_key(db, runtime.keys, runtime.settings, now)  # a new server publishes its first key
    # Short caching: a rotated key is published signing_key_publish_hours before it signs.
    return JSONResponse(jwks(db, now), headers={"Cache-Control": "public, max-age=300"})


def _answer_authorize(
    request: Request, db: Session, runtime: Runtime, student: StudentSession | None, parameters: dict[str, list[str]]
) -> Response:
    provider = _provider(request, db, runtime)
    oauth = ParametersRequest("GET", f"{provider.issuer}/authorize", request.headers, parameters)
    answer = authorize(provider, oauth, student)
    if answer is None:
        waiting = {**parameters, WAITING_SINCE: [provider.now.isoformat()]}
        return wait_for_scan(request, db, runtime, SsoProtocol.OIDC, waiting)
    return _response(answer)


#: The authorization request's parameters (OAuth 2.0, OIDC Core §3.1.2.1, PKCE); others are ignored.
AUTHORIZE_PARAMETERS = frozenset(
    (
        *("response_type", "client_id", "redirect_uri", "scope", "state", "nonce"),
        *("code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint", "id_token_hint"),
        *("ui_locales", "claims_locales", "acr_values", "display", "response_mode", "request", "request_uri"),
    )
)
MAX_PARAMETER_CHARS = 4096


@router.api_route("/authorize", methods=["GET", "POST"], include_in_schema=False)
def authorize_endpoint(
    request: Request, parameters: OAuthParameters, db: SessionDep, runtime: RuntimeDep, ip: ClientIP
) -> Response:
    """Sign the browser's student in to the app; without a session (or a fresh enough one), scan first."""
    audit_failures_as(request, "oidc.authorize", ip)
    # Counted before this request's transaction first touches the database: looking the session up
    # writes last_seen_at, and SQLite would then make the counter wait on this very request.
    enforce_limits(runtime.factory, [Limit(f"ip:{ip}", runtime.settings.rate_per_address_per_minute)])
    # Only what the protocol defines is kept (and may wait server-side for a scan); only the server
    # says when a request started waiting.
    parameters = {name: values for name, values in parameters.items() if name in AUTHORIZE_PARAMETERS}
    if any(len(value) > MAX_PARAMETER_CHARS for values in parameters.values() for value in values):
        raise SsoRefused("oidc parameter too long", N_("This sign-in link is broken. Please ask your teacher."))
    return _answer_authorize(request, db, runtime, browser_student(request, db), parameters)


def resume_after_scan(
    request: Request, db: Session, runtime: Runtime, student: StudentSession, parameters: dict[str, Any]
) -> Response:
    audit_failures_as(request, "oidc.authorize", address_of(request))
    return _answer_authorize(request, db, runtime, student, parameters)


# Registered where it is defined: importing this router (app.py) is what makes resuming work.
RESUME_AFTER_SCAN[SsoProtocol.OIDC.value] = resume_after_scan


@router.post("/token")
def token_endpoint(
    request: Request, parameters: OAuthParameters, db: SessionDep, runtime: RuntimeDep, ip: ClientIP
) -> Response:
    """A code for tokens (client_secret_basic, client_secret_post, or PKCE alone for a public client)."""
    enforce_limits(runtime.factory, [Limit(f"ip:{ip}", runtime.settings.rate_per_address_per_minute)])
    provider = _provider(request, db, runtime)
    oauth = ParametersRequest("POST", f"{provider.issuer}/token", request.headers, parameters)
    return _response(issue_tokens(provider, oauth))


def _userinfo(request: Request, parameters: dict[str, list[str]], db: Session, ip: str) -> JSONResponse:
    # The header, or a POST's form body (RFC 6750 §2.2); never the URL, which logs keep (§2.3).
    body_token = next(iter(parameters.get("access_token", [])), None) if request.method == "POST" else None
    token = bearer_token(request) or body_token
    claims = userinfo(db, token, utcnow())
    if claims is None:
        audit.record(db, "oidc.userinfo", "invalid_token", source_ip=ip)
        challenge = 'Bearer error="invalid_token"' if token else 'Bearer realm="userinfo"'
        return JSONResponse({"error": "invalid_token"}, status_code=401, headers={"WWW-Authenticate": challenge})
    return JSONResponse(claims, headers=NO_STORE)


@router.get("/userinfo")
def userinfo_get(request: Request, parameters: OAuthParameters, db: SessionDep, ip: ClientIP) -> JSONResponse:
    """The student's claims for a bearer access token (``Authorization: Bearer``)."""
    return _userinfo(request, parameters, db, ip)


@router.post("/userinfo")
def userinfo_post(request: Request, parameters: OAuthParameters, db: SessionDep, ip: ClientIP) -> JSONResponse:
    """The same, the token in the header or as ``access_token`` in a form body."""
    return _userinfo(request, parameters, db, ip)
