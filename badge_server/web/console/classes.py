"""The teacher's console: my classes, a class roster with badge states, print, replace, revoke, temporary codes."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_printing import BUILT_IN
from badge_printing.card import name_sort_key
from badge_server import badges
from badge_server.clock import utcnow
from badge_server.contract.payload import BadgeKind
from badge_server.errors import PolicyError, PrintingError, StaffForbidden
from badge_server.printing import PrintRequest, print_badges
from badge_server.store.models import Badge, BadgeStatus, Enrollment, Person, RosterRole, SchoolClass, StaffSession
from badge_server.web.console.access import (
    CurrentStaff,
    actor,
    check_csrf,
    qr_svg,
    visible_class,
    visible_classes,
)
from badge_server.web.deps import RuntimeDep, SessionDep
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff")


@router.get("/classes", response_class=HTMLResponse)
def my_classes(request: Request, db: SessionDep, record: CurrentStaff) -> HTMLResponse:
    return render_page(request, "classes.html", record, classes=visible_classes(db, record))


def _badge_state(badges: list[Badge], warning_days: int) -> tuple[str, str, str]:
    """(state, reference, expiry) as a teacher reads them."""
    printed = [b for b in badges if b.kind == BadgeKind.BADGE]
    active = next((b for b in printed if b.status == BadgeStatus.ACTIVE), None)
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
                Enrollment.role == RosterRole.STUDENT,
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
        count = print_badges(db, runtime.keys, what, template, buffer, actor=actor(record))
    except (PrintingError, PolicyError) as exc:
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
            Enrollment.role == RosterRole.STUDENT,
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
