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
    BrowserStudent,
    ClientIP,
    OAuthParameters,
    RuntimeDep,
    SessionDep,
    audit_failures_as,
    bearer_token,
    client_ip,
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


@router.api_route("/authorize", methods=["GET", "POST"], include_in_schema=False)
def authorize_endpoint(
    request: Request,
    parameters: OAuthParameters,
    student: BrowserStudent,
    db: SessionDep,
    runtime: RuntimeDep,
    ip: ClientIP,
) -> Response:
    """Sign the browser's student in to the app; without a session (or a fresh enough one), scan first."""
    audit_failures_as(request, "oidc.authorize", ip)
    parameters.pop(WAITING_SINCE, None)  # only the server says when a request started waiting
    return _answer_authorize(request, db, runtime, student, parameters)


def resume_after_scan(
    request: Request, db: Session, runtime: Runtime, student: StudentSession, parameters: dict[str, Any]
) -> Response:
    audit_failures_as(request, "oidc.authorize", client_ip(request))
    return _answer_authorize(request, db, runtime, student, parameters)


# Registered where it is defined: importing this router (app.py) is what makes resuming work.
RESUME_AFTER_SCAN[SsoProtocol.OIDC.value] = resume_after_scan


@router.post("/token")
def token_endpoint(request: Request, parameters: OAuthParameters, db: SessionDep, runtime: RuntimeDep) -> Response:
    """A code for tokens (client_secret_basic, client_secret_post, or PKCE alone for a public client)."""
    provider = _provider(request, db, runtime)
    oauth = ParametersRequest("POST", f"{provider.issuer}/token", request.headers, parameters)
    return _response(issue_tokens(provider, oauth))


def _userinfo(request: Request, parameters: dict[str, list[str]], db: Session, ip: str) -> JSONResponse:
    token = bearer_token(request) or next(iter(parameters.get("access_token", [])), None)
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
