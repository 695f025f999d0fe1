"""The SAML identity provider's pages: metadata, SSO (HTTP-Redirect and HTTP-POST), IdP-initiated.

A child with a session goes on at once to an auto-submitting form that posts the signed
response to the SP's registered ACS URL; without one, the request waits server-side while
the badge scanner is shown (``web.sso_pages.wait_for_scan``), and goes on after the scan.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server.clock import utcnow
from badge_server.contract.words import N_
from badge_server.errors import SsoRefused
from badge_server.ratelimit import Limit, enforce_limits
from badge_server.runtime import Runtime
from badge_server.sso import saml_idp
from badge_server.sso.saml_config import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, idp_metadata
from badge_server.sso.saml_idp import PostToAcs, SignInRequest
from badge_server.store.models import App, StudentSession
from badge_server.store.sso_models import SsoProtocol
from badge_server.web.after_scan import RESUME_AFTER_SCAN
from badge_server.web.deps import (
    BrowserStudent,
    ClientIP,
    RuntimeDep,
    SessionDep,
    audit_failures_as,
    browser_student,
)
from badge_server.web.middleware import CONTENT_SECURITY_POLICY
from badge_server.web.sso_pages import issuer_of, wait_for_scan
from badge_server.web.templating import student_page

router = APIRouter(include_in_schema=False)
AUDIT_KIND = "saml.sign_in"


def _post_page(request: Request, post: PostToAcs) -> Response:
    page = student_page(request, "saml_post.html", post=post)
    # The strict CSP allows forms to post to this server only; this one page posts to the
    # ACS URL the SP registered (and nowhere else).
    acs = urlsplit(post.acs_url)
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {acs.scheme}://{acs.netloc}"
    )
    return page


def _answer(
    request: Request, db: Session, runtime: Runtime, student: StudentSession | None, sign_in: SignInRequest
) -> Response:
    issuer = issuer_of(request, runtime)
    if student is not None and sign_in.needs_fresh_scan(student.created_at):
        # ForceAuthn on a shared device: the child must scan now, not ride on a live session.
        waiting = {**sign_in.as_parameters(), "waiting_since": utcnow().isoformat()}
        return wait_for_scan(request, db, runtime, SsoProtocol.SAML, waiting)
    if student is None:
        if sign_in.is_passive:  # the SP asked us not to show anything: say there is nobody
            return _post_page(
                request, saml_idp.no_passive_response(db, runtime.keys, runtime.settings, issuer, sign_in, utcnow())
            )
        return wait_for_scan(request, db, runtime, SsoProtocol.SAML, sign_in.as_parameters())
    post = saml_idp.issue_response(db, runtime.keys, runtime.settings, issuer, student, sign_in, utcnow())
    return _post_page(request, post)


def resume_after_scan(
    request: Request, db: Session, runtime: Runtime, student: StudentSession, parameters: dict[str, Any]
) -> Response:
    """The badge was scanned: answer the request that waited for it."""
    audit_failures_as(request, AUDIT_KIND, request.client.host if request.client else None, student.device_id)
    return _answer(request, db, runtime, student, SignInRequest.from_parameters(parameters))


RESUME_AFTER_SCAN[SsoProtocol.SAML.value] = resume_after_scan


@router.get("/saml/metadata")
def metadata(request: Request, db: SessionDep, runtime: RuntimeDep) -> Response:
    xml = idp_metadata(db, runtime.keys, runtime.settings, issuer_of(request, runtime), utcnow())
    return Response(xml, media_type="application/samlmetadata+xml")


def _check(
    request: Request,
    db: Session,
    runtime: Runtime,
    binding: str,
    saml_request: str | None,
    relay_state: str | None,
    sig_alg: str | None = None,
    signature: str | None = None,
) -> SignInRequest:
    if not saml_request:
        raise SsoRefused("malformed_request", N_("This link is not a sign-in request. Please ask your teacher."))
    return saml_idp.check_authn_request(
        db,
        runtime.keys,
        runtime.settings,
        issuer_of(request, runtime),
        utcnow(),
        binding=binding,
        saml_request=saml_request,
        relay_state=relay_state,
        sig_alg=sig_alg,
        signature=signature,
    )


def _limited_then_student(request: Request, db: Session, runtime: Runtime, ip: str) -> StudentSession | None:
    """Count the attempt (its own transaction, before this request's first touches the database:
    the session look-up writes, and SQLite would make the counter wait on it), then the student."""
    audit_failures_as(request, AUDIT_KIND, ip)
    enforce_limits(runtime.factory, [Limit(f"ip:{ip}", runtime.settings.rate_per_address_per_minute)])
    student = browser_student(request, db)
    audit_failures_as(request, AUDIT_KIND, ip, student.device_id if student else None)
    return student


@router.get("/saml/sso")
def sso_redirect_binding(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    ip: ClientIP,
    saml_request: Annotated[str | None, Query(alias="SAMLRequest")] = None,
    relay_state: Annotated[str | None, Query(alias="RelayState")] = None,
    sig_alg: Annotated[str | None, Query(alias="SigAlg")] = None,
    signature: Annotated[str | None, Query(alias="Signature")] = None,
) -> Response:
    student = _limited_then_student(request, db, runtime, ip)
    sign_in = _check(request, db, runtime, BINDING_HTTP_REDIRECT, saml_request, relay_state, sig_alg, signature)
    return _answer(request, db, runtime, student, sign_in)


@router.post("/saml/sso")
def sso_post_binding(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    ip: ClientIP,
    saml_request: Annotated[str | None, Form(alias="SAMLRequest")] = None,
    relay_state: Annotated[str | None, Form(alias="RelayState")] = None,
) -> Response:
    student = _limited_then_student(request, db, runtime, ip)
    sign_in = _check(request, db, runtime, BINDING_HTTP_POST, saml_request, relay_state)
    if student is None and not sign_in.is_passive:
        # A cross-site POST carries no SameSite=Lax session cookie even when the child is signed
        # in; the GET to /sso/continue does, and goes to the scanner only if there is no session.
        response = wait_for_scan(request, db, runtime, SsoProtocol.SAML, sign_in.as_parameters())
        response.headers["location"] = "/sso/continue"
        return response
    return _answer(request, db, runtime, student, sign_in)


@router.get("/saml/idp-initiated/{sp_id}")
def idp_initiated(
    sp_id: str, request: Request, student: BrowserStudent, db: SessionDep, runtime: RuntimeDep, ip: ClientIP
) -> Response:
    """A dashboard tile of a SAML app: sign in without the SP asking, landing on the app's page."""
    audit_failures_as(request, AUDIT_KIND, ip, student.device_id if student else None)
    # The catalog app's launch URL is where the SP should land the child (RelayState).
    app = db.scalars(select(App).where(App.sso_protocol == SsoProtocol.SAML.value, App.sso_ref == sp_id)).first()
    sign_in = SignInRequest(sp_id, None, app.launch_url if app is not None else None)
    saml_idp.provider_for(db, sign_in)
    return _answer(request, db, runtime, student, sign_in)
