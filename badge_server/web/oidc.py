"""OpenID Connect endpoints: discovery, JWKS, authorize, token, userinfo (``sso/oidc.py`` does the work).

``/authorize`` is a page a child's browser walks through: without a student session (or when
the app asks for a fresh sign-in) it keeps the request server-side and shows the badge scanner;
with one it answers at once. A request that names an unknown client or a redirect URI the
client did not register gets a page ("ask your teacher") and never a redirect.
"""

from __future__ import annotations

from typing import Annotated, Any

from authlib.oauth2 import OAuth2Error
from authlib.oidc.core.errors import RequestNotSupportedError, RequestURINotSupportedError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.clock import utcnow
from badge_server.errors import SsoRefused
from badge_server.ratelimit import Limit, enforce_limits
from badge_server.runtime import Runtime
from badge_server.sso import signing_keys
from badge_server.sso.oidc import (
    AUTHORIZE_PATH,
    JWKS_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
    ParsedRequest,
    ProviderServer,
    Student,
    discovery_document,
    find_access_token,
    needs_fresh_scan,
    record_sign_in,
    userinfo,
)
from badge_server.store.models import StudentSession
from badge_server.store.sso_models import SsoProtocol
from badge_server.web.after_scan import RESUME_AFTER_SCAN
from badge_server.web.deps import ClientIP, RuntimeDep, SessionDep, audit_failures_as, bearer_token, browser_student
from badge_server.web.sso_pages import issuer_of, wait_for_scan

router = APIRouter()
pages = APIRouter(include_in_schema=False)


async def request_parameters(request: Request) -> list[tuple[str, str]]:
    """The query (GET) or form (POST) parameters, repeated ones kept (Authlib refuses those)."""
    if request.method == "POST":
        form = await request.form()
        return [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    return list(request.query_params.multi_items())


Parameters = Annotated[list[tuple[str, str]], Depends(request_parameters)]


@router.get("/.well-known/openid-configuration")
def discovery(request: Request, runtime: RuntimeDep) -> JSONResponse:
    return JSONResponse(discovery_document(issuer_of(request, runtime)), headers={"Cache-Control": "max-age=3600"})


@router.get(JWKS_PATH)
def jwks(db: SessionDep, runtime: RuntimeDep) -> JSONResponse:
    now = utcnow()
    signing_keys.ensure_signing_key(db, runtime.keys, runtime.settings, now)
    # An hour's cache is well inside the day a rotated key is published before it signs.
    return JSONResponse(signing_keys.jwks(db, now), headers={"Cache-Control": "public, max-age=3600"})


def authorize_now(
    request: Request,
    db: Session,
    runtime: Runtime,
    student: StudentSession | None,
    pairs: list[tuple[str, str]],
    *,
    just_scanned: bool = False,
) -> Response:
    """Answer an authorization request: a code for the app, the scanner first, or a refusal."""
    issuer = issuer_of(request, runtime)
    server = ProviderServer(db, runtime.keys, runtime.settings, issuer)
    oauth_request = ParsedRequest("GET", f"{issuer}{AUTHORIZE_PATH}", request.headers, pairs)
    data = dict(pairs)
    client_id = data.get("client_id")
    end_user = Student(student) if student is not None else None
    try:
        grant = server.get_consent_grant(request=oauth_request, end_user=end_user)
    except OAuth2Error as error:
        if error.redirect_uri is None:  # unknown client or unregistered redirect URI: never go there
            raise SsoRefused(f"oidc {error.error}: {error.description or ''} (client {client_id!r})") from error
        person_id = student.person_id if student is not None else None
        audit.record(db, "oidc.authorize", error.error, person_id=person_id, client_id=client_id)
        return _redirect(server.handle_error_response(oauth_request, error))
    if "request" in data or "request_uri" in data:
        # Request objects are not supported (discovery says so): the app hears it, on its redirect URI.
        refusal = RequestNotSupportedError if "request" in data else RequestURINotSupportedError
        unsupported = refusal(state=data.get("state"), redirect_uri=grant.redirect_uri)
        audit.record(db, "oidc.authorize", unsupported.error, client_id=client_id)
        return _redirect(server.handle_error_response(oauth_request, unsupported))
    if student is None or (not just_scanned and needs_fresh_scan(data, student, utcnow())):
        return wait_for_scan(request, db, runtime, SsoProtocol.OIDC, {"pairs": pairs})
    answer = server.create_authorization_response(oauth_request, grant_user=end_user, grant=grant)
    record_sign_in(db, student, client_id or "", utcnow())
    audit.record(
        db,
        "oidc.authorize",
        person_id=student.person_id,
        badge_id=student.badge_id,
        device_id=student.device_id,
        client_id=client_id,
    )
    return _redirect(answer)


def _redirect(answer: tuple[int, Any, dict[str, str]]) -> Response:
    _status, body, headers = answer
    if "Location" not in headers:  # Authlib answers errors it cannot redirect with a body
        raise SsoRefused(f"oidc {body}")
    return RedirectResponse(headers["Location"], status_code=302)


def resume_after_scan(
    request: Request, db: Session, runtime: Runtime, student: StudentSession, parameters: dict[str, Any]
) -> Response:
    pairs = [(str(key), str(value)) for key, value in parameters.get("pairs", [])]
    return authorize_now(request, db, runtime, student, pairs, just_scanned=True)


RESUME_AFTER_SCAN[SsoProtocol.OIDC] = resume_after_scan


@pages.get(AUTHORIZE_PATH)
@pages.post(AUTHORIZE_PATH)
def authorize(request: Request, db: SessionDep, runtime: RuntimeDep, ip: ClientIP, pairs: Parameters) -> Response:
    audit_failures_as(request, "oidc.authorize", ip)
    # Counted in its own transaction before this request's first touches the database (the
    # session look-up writes last_seen_at, and SQLite would then wait on its own write lock).
    enforce_limits(runtime.factory, [Limit(f"ip:{ip}", runtime.settings.rate_per_address_per_minute)])
    return authorize_now(request, db, runtime, browser_student(request, db), pairs)


@router.post(TOKEN_PATH)
def token(request: Request, db: SessionDep, runtime: RuntimeDep, ip: ClientIP, pairs: Parameters) -> JSONResponse:
    """The app (server to server) exchanges a code for an ID token and an access token."""
    enforce_limits(runtime.factory, [Limit(f"ip:{ip}", runtime.settings.rate_per_address_per_minute)])
    issuer = issuer_of(request, runtime)
    server = ProviderServer(db, runtime.keys, runtime.settings, issuer)
    status, body, headers = server.create_token_response(
        ParsedRequest("POST", f"{issuer}{TOKEN_PATH}", request.headers, pairs)
    )
    outcome = "ok" if status == 200 else str(body.get("error", "refused"))
    audit.record(db, "oidc.token", outcome, source_ip=ip, client_id=dict(pairs).get("client_id"))
    return JSONResponse(body, status_code=status, headers=headers)


def _userinfo(request: Request, db: Session, pairs: list[tuple[str, str]]) -> JSONResponse:
    presented = bearer_token(request) or (dict(pairs).get("access_token") if request.method == "POST" else None)
    now = utcnow()
    found = find_access_token(db, presented, now) if presented else None
    if found is None:
        return JSONResponse(
            {"error": "invalid_token", "error_description": "the access token is unknown, expired or revoked"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return JSONResponse(userinfo(db, found, now), headers={"Cache-Control": "no-store"})


@router.get(USERINFO_PATH)
def userinfo_get(request: Request, db: SessionDep, pairs: Parameters) -> JSONResponse:
    """The signed-in student's claims, for a live access token (``Authorization: Bearer``)."""
    return _userinfo(request, db, pairs)


@router.post(USERINFO_PATH)
def userinfo_post(request: Request, db: SessionDep, pairs: Parameters) -> JSONResponse:
    """The same, with the token in the header or the form body (RFC 6750 §2.2)."""
    return _userinfo(request, db, pairs)
