"""The password pages: ``/sign-in/password`` (username + password, for a device without a camera),
``/sign-in/choose`` (an older student's own password at the first sign-in) and
``/account/password`` (a student signed in with a password changes it).

These routes take no ``SessionDep``: that transaction would stay open across the argon2 work and,
on SQLite, hold the write lock while it runs. They open short transactions of their own around it
(``badge_server.password_sign_in``). The forms are guarded against login CSRF (another site
signing a child in to an account of its choosing) by a double-submit token: a random value in a
SameSite=Strict cookie that the form must echo, which another site can neither read nor set.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from badge_server import audit, devices, student_passwords
from badge_server.contract.words import N_
from badge_server.errors import ApiError, PasswordNotAccepted, PolicyError, RateLimited
from badge_server.password_sign_in import (
    CLAIM_SECONDS,
    Attempt,
    PasswordChecked,
    attempt_limits,
    check_password,
    open_claim,
    seal_claim,
    start_password_session,
)
from badge_server.ratelimit import enforce_limits
from badge_server.runtime import Runtime
from badge_server.sessions import authenticate_session
from badge_server.store.account_models import StudentPassword
from badge_server.store.db import transaction
from badge_server.store.models import Person, SignInMethod, StudentSession
from badge_server.student_passwords import PasswordSignIn
from badge_server.web.deps import DEVICE_COOKIE, SESSION_COOKIE, ClientIP, RuntimeDep
from badge_server.web.session_cookie import after_sign_in, set_session_cookie
from badge_server.web.templating import student_page

router = APIRouter(include_in_schema=False)

FORM_COOKIE = "badge_form"
CLAIM_COOKIE = "badge_claim"
TRY_AGAIN = N_("Something went wrong. Please try again.")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _page(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A password page with its form token (the cookie is set if the browser has none yet)."""
    token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    response = student_page(request, name, status, csrf=token, **values)
    response.set_cookie(
        FORM_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/", max_age=3600
    )
    return response


def _form_token_ok(request: Request, given: str) -> bool:
    expected = request.cookies.get(FORM_COOKIE, "")
    # Constant-time: the comparison must not tell a guesser how much of the token was right.
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def _school_device(runtime: Runtime, request: Request) -> str | None:
    """The enrolled school scanner this browser is, if it holds a valid device cookie."""
    token = request.cookies.get(DEVICE_COOKIE)
    if not token:
        return None
    with transaction(runtime.factory) as db:
        try:
            return devices.authenticate_device(db, token).id
        except ApiError:
            return None


def _signed_in(request: Request, runtime: Runtime, checked: PasswordChecked, attempt: Attempt) -> Response:
    with transaction(runtime.factory) as db:
        started = start_password_session(db, runtime.settings, checked, attempt)
    response = RedirectResponse(after_sign_in(request), status_code=303)
    response.delete_cookie(CLAIM_COOKIE, path="/")
    return set_session_cookie(request, response, started.token, started.expires_in)


def _throttled(request: Request, name: str, exc: RateLimited, **values: object) -> HTMLResponse:
    response = _page(request, name, 429, wait_seconds=exc.retry_after, **values)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.get("/sign-in/password", response_class=HTMLResponse)
def password_page(request: Request) -> HTMLResponse:
    return _page(request, "password.html", username="")


@router.post("/sign-in/password", response_class=HTMLResponse)
def sign_in_with_password(
    request: Request,
    runtime: RuntimeDep,
    ip: ClientIP,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not _form_token_ok(request, csrf):
        return _page(request, "password.html", 400, username=username, error=TRY_AGAIN)
    attempt = Attempt(username, password, ip, _school_device(runtime, request))
    try:
        checked = check_password(runtime, attempt)
        if not checked.must_choose:
            return _signed_in(request, runtime, checked, attempt)
    except RateLimited as exc:
        return _throttled(request, "password.html", exc, username=username)
    except PasswordNotAccepted as exc:
        return _page(request, "password.html", 401, username=username, error=exc.message)
    response = RedirectResponse("/sign-in/choose", status_code=303)
    claim = seal_claim(runtime.keys, checked)
    response.set_cookie(
        CLAIM_COOKIE, claim, max_age=CLAIM_SECONDS, httponly=True, samesite="strict", secure=_secure(request), path="/"
    )
    return response


@router.get("/sign-in/choose", response_class=HTMLResponse)
def choose_page(request: Request, runtime: RuntimeDep) -> Response:
    with transaction(runtime.factory) as db:
        person = open_claim(db, runtime.keys, request.cookies.get(CLAIM_COOKIE, ""))
    if person is None:
        return RedirectResponse("/sign-in/password", status_code=303)
    return _page(request, "choose_password.html", first_name=person.given_name or person.display_name)


@router.post("/sign-in/choose", response_class=HTMLResponse)
def choose_own_password(
    request: Request,
    runtime: RuntimeDep,
    ip: ClientIP,
    password: Annotated[str, Form(max_length=200)] = "",
    again: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    claim = request.cookies.get(CLAIM_COOKIE, "")
    with transaction(runtime.factory) as db:
        person = open_claim(db, runtime.keys, claim)
    if person is None:
        return RedirectResponse("/sign-in/password", status_code=303)
    first_name = person.given_name or person.display_name
    problem = _new_password_problem(request, csrf, person, password, again)
    if problem:
        return _page(request, "choose_password.html", 400, first_name=first_name, error=problem)
    with runtime.password_checks:
        hashed = student_passwords.hash_password(password)
    attempt = Attempt(person.username or person.identifier or person.id, password, ip, _school_device(runtime, request))
    with transaction(runtime.factory) as db:
        claimed = open_claim(db, runtime.keys, claim)  # again: a claim works once, even when raced
        if claimed is None:
            return RedirectResponse("/sign-in/password", status_code=303)
        student_passwords.choose_password(db, claimed, password, hashed)
    return _signed_in(request, runtime, PasswordChecked(person.id, hashed, False), attempt)


def _new_password_problem(request: Request, csrf: str, person: Person, password: str, again: str) -> str | None:
    """What is wrong with a new password, in words a child can act on; None when nothing is."""
    if not _form_token_ok(request, csrf):
        return TRY_AGAIN
    if password != again:
        return N_("The two passwords are not the same. Type it the same way twice.")
    try:
        student_passwords.check_chosen_password(person, password)
    except PolicyError as exc:
        return str(exc)
    return None


def _browser_student(request: Request, db: Session) -> StudentSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return authenticate_session(db, token)
    except ApiError:
        return None


@router.get("/account/password", response_class=HTMLResponse)
def change_password_page(request: Request, runtime: RuntimeDep) -> Response:
    with transaction(runtime.factory) as db:
        student = _browser_student(request, db)
        if student is None:
            return RedirectResponse("/scan", status_code=303)
        first_name = student.person.given_name or student.person.display_name
        by_password = student.method == SignInMethod.PASSWORD
    if not by_password:
        return _page(request, "account_password.html", 403, first_name=first_name, badge_session=True)
    return _page(request, "account_password.html", first_name=first_name)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    runtime: RuntimeDep,
    ip: ClientIP,
    current: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    again: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """A badge session cannot change a password: a badge is something you hold, and whoever holds
    it must not be able to lock its owner out of the password they know."""
    with transaction(runtime.factory) as db:
        student = _browser_student(request, db)
        if student is None:
            return RedirectResponse("/scan", status_code=303)
        person = student.person
        first_name = person.given_name or person.display_name
        if student.method != SignInMethod.PASSWORD:
            audit.record(db, "password.change", "refused", person_id=person.id, source_ip=ip, reason="badge_session")
            record = None
        else:
            record = db.get(StudentPassword, person.id)
        proved = PasswordSignIn(person.id, record.password_hash, False) if record else None
    if proved is None:
        return _page(request, "account_password.html", 403, first_name=first_name, badge_session=True)
    problem = _new_password_problem(request, csrf, person, password, again)
    if problem:
        return _page(request, "account_password.html", 400, first_name=first_name, error=problem)
    attempt = Attempt(person.username or person.id, current, ip, _school_device(runtime, request))
    try:
        enforce_limits(runtime.factory, attempt_limits(runtime.settings, attempt)[:1])
    except RateLimited as exc:
        return _throttled(request, "account_password.html", exc, first_name=first_name)
    with runtime.password_checks:
        matched = student_passwords.verify(proved, current)
        hashed = student_passwords.hash_password(password) if matched else ""
    with transaction(runtime.factory) as db:
        fresh = db.get(StudentPassword, person.id)
        if not matched or fresh is None or fresh.password_hash != proved.password_hash:
            audit.record(db, "password.change", "refused", person_id=person.id, source_ip=ip, reason="wrong_password")
            matched = False
        else:
            student_passwords.choose_password(db, person, password, hashed)
    if not matched:
        return _page(
            request, "account_password.html", 401, first_name=first_name, error=N_("Your old password is not right.")
        )
    return _page(request, "account_password.html", first_name=first_name, saved=True)
