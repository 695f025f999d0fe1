"""The staff web console: sign-in with a second factor, my classes, class roster, print a class set."""

from __future__ import annotations

import io
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_printing import BUILT_IN, LayoutError, get_template
from badge_printing.card import name_sort_key
from badge_printing.templates import TemplateError
from badge_server import badges
from badge_server import staff as staff_accounts
from badge_server.badges import ACTIVE
from badge_server.clock import utcnow
from badge_server.deps import ClientIP, RuntimeDep, SessionDep
from badge_server.errors import PolicyError, StaffForbidden, StaffSignInNeeded
from badge_server.keys import token_digest
from badge_server.models import Badge, Enrollment, Person, SchoolClass, StaffSession
from badge_server.payload import BadgeKind
from badge_server.printing import PrintRequest, print_badges
from badge_server.ratelimit import Limit, enforce_limits
from badge_server.staff_pages import (
    SESSION_COOKIE,
    CurrentStaff,
    actor,
    check_csrf,
    find_staff_session,
    qr_svg,
    render_page,
    visible_class,
    visible_classes,
)

router = APIRouter(prefix="/staff")
LOGIN_CSRF_COOKIE = "staff_login_csrf"
PASSWORD_TRIES_PER_MINUTE = 10  # throttled, never locked out: a teacher can always try again soon


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    csrf = secrets.token_urlsafe(24)
    response = render_page(request, "login.html", csrf=csrf)
    response.set_cookie(LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


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
    enforce_limits(
        runtime.factory, [Limit(f"staff-login:{ip}:{username.strip().lower()[:64]}", PASSWORD_TRIES_PER_MINUTE)]
    )
    try:
        user = staff_accounts.check_password(db, username, password)
    except staff_accounts.SignInRefused as exc:
        return render_page(request, "login.html", csrf=csrf, error=str(exc), status=401)
    started = staff_accounts.start_session(
        db, user, source_ip=ip, teachers_need_mfa=runtime.settings.teacher_mfa_required
    )
    target = "/staff/classes"
    if not started.record.mfa_done:
        target = "/staff/mfa" if user.totp_enabled else "/staff/mfa/setup"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        started.token,
        httponly=True,
        samesite="strict",
        path="/staff",
        secure=request.url.scheme == "https",
        max_age=staff_accounts.SESSION_HOURS * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def _pending(request: Request, db: Session) -> StaffSession:
    record = find_staff_session(request, db)
    if record is None:
        raise StaffSignInNeeded()
    return record


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
    csrf: Annotated[str, Form()],
) -> Response:
    # Count the try before the request's own transaction touches the database (see deps.get_db).
    cookie = request.cookies.get(SESSION_COOKIE, "")
    enforce_limits(runtime.factory, [Limit(f"staff-mfa:{token_digest(cookie)[:32]}", PASSWORD_TRIES_PER_MINUTE)])
    record = _pending(request, db)
    check_csrf(record.csrf_token, csrf)
    try:
        staff_accounts.pass_second_factor(db, record, runtime.keys, code)
    except staff_accounts.SignInRefused as exc:
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
    request: Request, db: SessionDep, runtime: RuntimeDep, code: Annotated[str, Form()], csrf: Annotated[str, Form()]
) -> HTMLResponse:
    record = _pending(request, db)
    check_csrf(record.csrf_token, csrf)
    if record.staff.totp_enabled:
        raise StaffSignInNeeded("/staff/mfa")
    try:
        codes = staff_accounts.confirm_totp_setup(db, record.staff, runtime.keys, code)
    except staff_accounts.SignInRefused as exc:
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
def logout(request: Request, db: SessionDep, record: CurrentStaff, csrf: Annotated[str, Form()]) -> Response:
    check_csrf(record.csrf_token, csrf)
    staff_accounts.end_session(db, record)
    response = RedirectResponse("/staff/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/staff")
    return response


@router.get("/classes", response_class=HTMLResponse)
def my_classes(request: Request, db: SessionDep, record: CurrentStaff) -> HTMLResponse:
    return render_page(request, "classes.html", record, classes=visible_classes(db, record))


def _badge_state(badges: list[Badge], warning_days: int) -> tuple[str, str, str]:
    """(state, reference, expiry) as a teacher reads them."""
    printed = [b for b in badges if b.kind == BadgeKind.BADGE.value]
    active = next((b for b in printed if b.status == ACTIVE), None)
    if active is None:
        latest = max(printed, key=lambda b: b.generation, default=None)
        return ("no badge" if latest is None else latest.status, "", "")
    expires = f"{active.expires_at:%Y-%m-%d}"
    if active.expires_at <= utcnow() + timedelta(days=warning_days):
        return "expires soon", active.reference, expires
    if active.printed_at is None:
        return "never printed", active.reference, expires
    return "active", active.reference, expires


@router.get("/classes/{class_id}", response_class=HTMLResponse)
def class_roster(
    request: Request, class_id: str, db: SessionDep, runtime: RuntimeDep, record: CurrentStaff, message: str = ""
) -> HTMLResponse:
    school_class = visible_class(db, record, class_id)
    students = list(
        db.scalars(
            select(Person)
            .join(Enrollment, Enrollment.person_id == Person.id)
            .where(
                Enrollment.class_id == class_id,
                Enrollment.role == "student",
                Enrollment.active.is_(True),
                Person.active.is_(True),
            )
        )
    )
    badges: dict[str, list[Badge]] = {}
    for badge in db.scalars(select(Badge).where(Badge.person_id.in_([s.id for s in students]))):
        badges.setdefault(badge.person_id, []).append(badge)
    rows = []
    for student in sorted(students, key=lambda s: name_sort_key(s.display_name)):
        state, reference, expires = _badge_state(badges.get(student.id, []), runtime.settings.badge_expiry_warning_days)
        rows.append(
            {"id": student.id, "name": student.display_name, "state": state, "reference": reference, "expires": expires}
        )
    return render_page(
        request,
        "class.html",
        record,
        school_class=school_class,
        rows=rows,
        templates=BUILT_IN.values(),
        message=message,
    )


@router.post("/classes/{class_id}/void", response_class=HTMLResponse)
def void_class_badges(
    request: Request,
    class_id: str,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    csrf: Annotated[str, Form()],
    confirm_title: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Year end: every badge of the class stops working. Typing the class name guards a slip."""
    check_csrf(record.csrf_token, csrf)
    school_class = visible_class(db, record, class_id)
    if confirm_title.strip().casefold() != school_class.title.strip().casefold():
        return class_roster(
            request,
            class_id,
            db,
            runtime,
            record,
            message=f"Nothing was voided: type the class name ({school_class.title}) to confirm.",
        )
    count = badges.void_class(db, class_id, actor=actor(record))
    return class_roster(
        request, class_id, db, runtime, record, message=f"{count} badges voided. They no longer work anywhere."
    )


def _badge_pdf(
    request: Request,
    db: Session,
    runtime: RuntimeDep,
    record: StaffSession,
    what: PrintRequest,
    template: str,
    title: str,
) -> Response:
    buffer = io.BytesIO()
    try:
        count = print_badges(db, runtime.keys, what, get_template(template), buffer, actor=actor(record))
    except (LayoutError, TemplateError, PolicyError) as exc:
        return render_page(request, "error.html", record, status=409, message=str(exc))
    name = "".join(ch if ch.isalnum() else "-" for ch in title).strip("-") or "badges"
    return Response(
        buffer.getvalue(),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"', "X-Badge-Count": str(count)},
    )


@router.post("/classes/{class_id}/print")
def print_class(
    request: Request,
    class_id: str,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    csrf: Annotated[str, Form()],
    template: Annotated[str, Form()] = "square-2in-letter",
    only_new: Annotated[bool, Form()] = False,
) -> Response:
    check_csrf(record.csrf_token, csrf)
    school_class = visible_class(db, record, class_id)
    what = PrintRequest(class_id=class_id, only_new=only_new)
    return _badge_pdf(request, db, runtime, record, what, template, school_class.title)


def _visible_student(db: Session, record: StaffSession, class_id: str, person_id: str) -> tuple[SchoolClass, Person]:
    school_class = visible_class(db, record, class_id)
    enrolled = db.scalars(
        select(Enrollment).where(
            Enrollment.class_id == class_id,
            Enrollment.person_id == person_id,
            Enrollment.role == "student",
            Enrollment.active.is_(True),
        )
    ).first()
    student = db.get(Person, person_id)
    if enrolled is None or student is None or not student.active:
        raise StaffForbidden()
    return school_class, student


def _student_page(
    request: Request,
    db: Session,
    runtime: RuntimeDep,
    record: StaffSession,
    school_class: SchoolClass,
    student: Person,
    message: str = "",
) -> HTMLResponse:
    badges_of = list(db.scalars(select(Badge).where(Badge.person_id == student.id)))
    state, reference, _ = _badge_state(badges_of, runtime.settings.badge_expiry_warning_days)
    return render_page(
        request,
        "student.html",
        record,
        school_class=school_class,
        student=student,
        state=state,
        reference=reference,
        message=message,
        has_badge=state not in ("no badge", "revoked", "voided"),
        templates=BUILT_IN.values(),
    )


@router.get("/classes/{class_id}/students/{person_id}", response_class=HTMLResponse)
def student_page(
    request: Request, class_id: str, person_id: str, db: SessionDep, runtime: RuntimeDep, record: CurrentStaff
) -> HTMLResponse:
    school_class, student = _visible_student(db, record, class_id, person_id)
    return _student_page(request, db, runtime, record, school_class, student)


@router.post("/classes/{class_id}/students/{person_id}/print")
def print_student(
    request: Request,
    class_id: str,
    person_id: str,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    csrf: Annotated[str, Form()],
    template: Annotated[str, Form()] = "square-2in-letter",
) -> Response:
    """One badge (a new one after a replacement, or a reprint), on a sheet of the chosen stock."""
    check_csrf(record.csrf_token, csrf)
    _, student = _visible_student(db, record, class_id, person_id)
    what = PrintRequest(person_id=student.id)
    return _badge_pdf(request, db, runtime, record, what, template, student.display_name)


@router.post("/classes/{class_id}/students/{person_id}/temporary", response_class=HTMLResponse)
def temporary(
    request: Request,
    class_id: str,
    person_id: str,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    csrf: Annotated[str, Form()],
) -> HTMLResponse:
    check_csrf(record.csrf_token, csrf)
    school_class, student = _visible_student(db, record, class_id, person_id)
    issued = badges.temporary_code(db, runtime.keys, runtime.settings, student, actor=actor(record))
    expires = issued.badge.expires_at
    svg = qr_svg(str(issued.payload), scale=8)
    return render_page(
        request,
        "temporary.html",
        record,
        school_class=school_class,
        student=student,
        qr_svg=svg,
        expires_at=f"{expires.astimezone():%H:%M}",
        expires_iso=expires.isoformat(),
        minutes_left=int((expires - utcnow()).total_seconds() // 60),
    )


@router.post("/classes/{class_id}/students/{person_id}/replace", response_class=HTMLResponse)
def replace_badge(
    request: Request,
    class_id: str,
    person_id: str,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    csrf: Annotated[str, Form()],
    confirm: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    check_csrf(record.csrf_token, csrf)
    school_class, student = _visible_student(db, record, class_id, person_id)
    if not confirm:
        return _student_page(
            request,
            db,
            runtime,
            record,
            school_class,
            student,
            "Tick the box to confirm: the old badge stops working now.",
        )
    badges.replace(db, runtime.keys, runtime.settings, student, actor=actor(record))
    return _student_page(
        request,
        db,
        runtime,
        record,
        school_class,
        student,
        "Replaced. The old badge no longer works. Print the new one: Print the class set, "
        "with 'Only new or replaced badges'.",
    )


@router.post("/classes/{class_id}/students/{person_id}/revoke", response_class=HTMLResponse)
def revoke_badge(
    request: Request,
    class_id: str,
    person_id: str,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    csrf: Annotated[str, Form()],
    confirm: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    check_csrf(record.csrf_token, csrf)
    school_class, student = _visible_student(db, record, class_id, person_id)
    current = badges.current_badge(db, student.id)
    if not confirm or current is None:
        return _student_page(
            request,
            db,
            runtime,
            record,
            school_class,
            student,
            "Tick the box to confirm." if current else "There is no badge to revoke.",
        )
    badges.revoke(db, current, actor=actor(record))
    return _student_page(request, db, runtime, record, school_class, student, "Revoked. The badge no longer works.")
