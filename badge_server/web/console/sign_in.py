"""Staff sign-in: password, then the second factor (TOTP set-up at first sign-in), and sign-out."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server import staff as staff_accounts
from badge_server.clock import utcnow
from badge_server.errors import RateLimited, StaffSignInNeeded
from badge_server.keys import token_digest
from badge_server.ratelimit import Limit, enforce_limits
from badge_server.runtime import Runtime
from badge_server.staff_sign_in import AUDIT_KIND, StaffAttempt, audit_refusal, check_staff_password, checked_account
from badge_server.store.db import read_only_transaction
from badge_server.store.models import StaffSession
from badge_server.web.console.access import (
    SESSION_COOKIE,
    CsrfField,
    StaffForm,
    check_csrf,
    find_staff_session,
    qr_svg,
)
from badge_server.web.console.my_apps import end_staff_dashboard
from badge_server.web.deps import SESSION_COOKIE as STUDENT_SESSION_COOKIE
from badge_server.web.deps import ClientIP, RuntimeDep, SessionDep
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff")
LOGIN_CSRF_COOKIE = "staff_login_csrf"
PASSWORD_TRIES_PER_MINUTE = 10  # throttled, never locked out: a teacher can always try again soon


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return login_page(request, runtime)


@router.post("/login")
def login(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    ip: ClientIP,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
) -> Response:
    check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf)
    # The request's own transaction (db) is first touched only once the password has matched.
    try:
        checked = check_staff_password(runtime, StaffAttempt(username, password, ip))
        user = checked_account(db, checked)
    except staff_accounts.SignInRefused as exc:
        return login_page(request, runtime, csrf=csrf, error=str(exc), status=401)
    started = staff_accounts.start_session(
        db, user, source_ip=ip, teachers_need_mfa=runtime.settings.teacher_mfa_required
    )
    response = RedirectResponse(next_step(started), status_code=303)
    set_session_cookie(request, response, started)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def next_step(started: staff_accounts.NewStaffSession) -> str:
    """Where a session goes after its first step: the classes, or the second factor."""
    if started.record.mfa_done:
        return "/staff/classes"
    return "/staff/mfa" if started.record.staff.totp_enabled else "/staff/mfa/setup"


def set_session_cookie(request: Request, response: Response, started: staff_accounts.NewStaffSession) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        started.token,
        httponly=True,
        samesite="strict",
        path="/staff",
        secure=request.url.scheme == "https",
        max_age=staff_accounts.SESSION_HOURS * 3600,
    )


def login_page(
    request: Request, runtime: Runtime, *, csrf: str | None = None, error: str = "", status: int = 200
) -> HTMLResponse:
    """The password form (with a new CSRF token unless the form's own is passed back), and the
    district's own sign-in where one is configured."""
    provider = runtime.staff_identity_provider
    label = provider.label if provider else None
    token = csrf or secrets.token_urlsafe(24)
    page = render_page(request, "login.html", csrf=token, error=error, status=status, district_sign_in=label)
    if csrf is None:
        secure = request.url.scheme == "https"
        page.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure)
    return page


def _pending(request: Request, db: Session) -> StaffSession:
    record = find_staff_session(request, db)
    if record is None:
        raise StaffSignInNeeded()
    return record


def pending_form(request: Request, db: SessionDep, csrf: CsrfField) -> StaffSession:
    """A session between password and second factor, whose form carried its CSRF token."""
    record = _pending(request, db)
    check_csrf(record.csrf_token, csrf)
    return record


PendingForm = Annotated[StaffSession, Depends(pending_form)]


@router.get("/mfa", response_class=HTMLResponse)
def mfa_form(request: Request, db: SessionDep) -> HTMLResponse:
    return render_page(request, "mfa.html", _pending(request, db))


@router.post("/mfa")
def mfa(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    ip: ClientIP,
    code: Annotated[str, Form()],
    csrf: CsrfField,
) -> Response:
    # Count the try before the request's own transaction touches the database (see deps.get_db):
    # so the session is found here, not by a PendingForm parameter, which would look first.
    cookie = request.cookies.get(SESSION_COOKIE, "")
    try:
        enforce_limits(runtime.factory, [Limit(f"staff-mfa:{token_digest(cookie)[:32]}", PASSWORD_TRIES_PER_MINUTE)])
    except RateLimited:
        with read_only_transaction(runtime.factory) as reading:
            pending = staff_accounts.find_session(reading, cookie, touch=False)
            username = pending.staff.username if pending else ""
        audit_refusal(runtime, username, ip, "throttled", step="code")
        raise
    record = pending_form(request, db, csrf)
    try:
        staff_accounts.pass_second_factor(db, record, runtime.keys, code)
    except staff_accounts.CodesPaused as exc:
        audit.record(db, AUDIT_KIND, "paused", source_ip=ip, username=record.staff.username, step="code")
        page = render_page(request, "mfa.html", record, error=str(exc), status=429)
        page.headers["Retry-After"] = str(max(1, int((exc.until - utcnow()).total_seconds())))
        return page
    except staff_accounts.SignInRefused as exc:
        audit.record(db, AUDIT_KIND, "refused", source_ip=ip, username=record.staff.username, step="code")
        return render_page(request, "mfa.html", record, error=str(exc), status=401)
    return RedirectResponse("/staff/classes", status_code=303)


@router.get("/mfa/setup", response_class=HTMLResponse)
def mfa_setup_form(request: Request, db: SessionDep, runtime: RuntimeDep) -> HTMLResponse:
    record = _pending(request, db)
    if record.staff.totp_enabled:
        raise StaffSignInNeeded("/staff/mfa")  # a second factor in force is changed only after passing it
    secret = staff_accounts.begin_totp_setup(record.staff, runtime.keys)
    uri = staff_accounts.totp_uri(record.staff, runtime.keys, runtime.settings.district_name)
    return render_page(request, "mfa_setup.html", record, secret=secret, qr_svg=qr_svg(uri))


@router.post("/mfa/setup", response_class=HTMLResponse)
def mfa_setup(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    ip: ClientIP,
    record: PendingForm,
    code: Annotated[str, Form()],
) -> HTMLResponse:
    if record.staff.totp_enabled:
        raise StaffSignInNeeded("/staff/mfa")
    try:
        codes = staff_accounts.confirm_totp_setup(db, record.staff, runtime.keys, code)
    except staff_accounts.SignInRefused as exc:
        audit.record(db, AUDIT_KIND, "refused", source_ip=ip, username=record.staff.username, step="code")
        uri = staff_accounts.totp_uri(record.staff, runtime.keys, runtime.settings.district_name)
        assert record.staff.totp_secret_encrypted is not None
        return render_page(
            request,
            "mfa_setup.html",
            record,
            status=401,
            error=str(exc),
            qr_svg=qr_svg(uri),
            secret=runtime.keys.decrypt(record.staff.totp_secret_encrypted),
        )
    record.mfa_done = True
    return render_page(request, "recovery.html", record, codes=codes)


@router.post("/logout")
def logout(request: Request, db: SessionDep, record: StaffForm) -> Response:
    staff_accounts.end_session(db, record)
    end_staff_dashboard(request, db, record)
    response = RedirectResponse("/staff/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/staff")
    response.delete_cookie(STUDENT_SESSION_COOKIE, path="/")
    return response
