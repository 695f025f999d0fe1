"""The teacher's console: my classes, a class roster with badge states, print, replace, revoke, temporary codes."""

from __future__ import annotations

import base64
import io
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from badge_printing import BUILT_IN
from badge_server import badges, classrooms, home_sign_in, student_passwords, tiles
from badge_server.clock import utcnow
from badge_server.contract.words import N_
from badge_server.errors import PolicyError, PrintingError
from badge_server.printing import PrintRequest, preview_first_sheet, print_badges
from badge_server.runtime import Runtime
from badge_server.staff_words import StaffMessage
from badge_server.store.models import SchoolClass, StaffSession
from badge_server.web.console.access import (
    ClassForm,
    ClassStudent,
    CurrentStaff,
    StudentForm,
    VisibleClass,
    VisibleStudent,
    actor,
    qr_svg,
)
from badge_server.web.console.pins import class_apps
from badge_server.web.deps import RuntimeDep, SessionDep
from badge_server.web.templating import page_language, render_page

router = APIRouter(prefix="/staff")


@router.get("/classes", response_class=HTMLResponse)
def my_classes(request: Request, db: SessionDep, record: CurrentStaff) -> HTMLResponse:
    return render_page(request, "classes.html", record, classes=classrooms.visible_classes(db, record.staff))


def _roster_page(
    request: Request,
    db: Session,
    runtime: Runtime,
    record: StaffSession,
    school_class: SchoolClass,
    message: StaffMessage | None = None,
) -> HTMLResponse:
    rows = classrooms.class_roster(db, school_class.id, runtime.settings)
    return render_page(
        request,
        "class.html",
        record,
        school_class=school_class,
        rows=rows,
        home_sign_ins=home_sign_in.recent_home_sign_ins(db, [row.id for row in rows]),
        pins=tiles.class_pins(db, school_class.id),
        pinnable=class_apps(db, runtime, school_class),
        templates=BUILT_IN.values(),
        message=message,
    )


@router.get("/classes/{class_id}", response_class=HTMLResponse)
def class_roster(
    request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentStaff, school_class: VisibleClass
) -> HTMLResponse:
    return _roster_page(request, db, runtime, record, school_class)


@router.post("/classes/{class_id}/void", response_class=HTMLResponse)
def void_class_badges(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    school_class: ClassForm,
    confirm_title: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Year end: every badge of the class stops working. Typing the class name guards a slip."""
    if confirm_title.strip().casefold() != school_class.title.strip().casefold():
        message = StaffMessage(
            N_("Nothing was voided: type the class name (%(title)s) to confirm."), {"title": school_class.title}
        )
        return _roster_page(request, db, runtime, record, school_class, message)
    count = badges.void_class(db, school_class.id, actor=actor(record))
    message = StaffMessage(N_("%(count)s badges voided. They no longer work anywhere."), {"count": count})
    return _roster_page(request, db, runtime, record, school_class, message)


def _badge_pdf(
    request: Request,
    db: Session,
    runtime: Runtime,
    record: StaffSession,
    what: PrintRequest,
    template: str,
    title: str,
) -> Response:
    buffer = io.BytesIO()
    try:
        count = print_badges(
            db, runtime.keys, what, template, buffer, actor=actor(record), language=page_language(request)
        )
    except (PrintingError, PolicyError) as exc:
        return render_page(request, "error.html", record, status=409, message=str(exc))
    return pdf_download(buffer.getvalue(), title, count)


def pdf_download(pdf: bytes, title: str, count: int) -> Response:
    """A PDF to save, named after ``title``; ``X-Badge-Count`` says how many it holds."""
    name = "".join(ch if ch.isalnum() else "-" for ch in title).strip("-") or "badges"
    # HTTP headers are Latin-1: an ASCII fallback name, and the real one (Аня, 王小明) per RFC 6266.
    fallback = name.encode("ascii", "replace").decode().replace("?", "-")
    disposition = f"attachment; filename=\"{fallback}.pdf\"; filename*=UTF-8''{quote(name)}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": disposition, "X-Badge-Count": str(count)},
    )


@router.post("/classes/{class_id}/print")
def print_class(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    school_class: ClassForm,
    template: Annotated[str, Form()] = "square-2in-letter",
    only_new: Annotated[bool, Form()] = False,
) -> Response:
    what = PrintRequest(class_id=school_class.id, only_new=only_new)
    return _badge_pdf(request, db, runtime, record, what, template, school_class.title)


@router.post("/classes/{class_id}/print/preview", response_class=HTMLResponse)
def preview_class(
    request: Request,
    db: SessionDep,
    record: CurrentStaff,
    school_class: ClassForm,
    template: Annotated[str, Form()] = "square-2in-letter",
    only_new: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """The first sheet as a picture before printing: is it the right stock, are these the students?"""
    what = PrintRequest(class_id=school_class.id, only_new=only_new)
    try:
        preview = preview_first_sheet(db, what, template)
    except (PrintingError, PolicyError) as exc:
        return render_page(request, "error.html", record, status=409, message=str(exc))
    return render_page(
        request,
        "print_preview.html",
        record,
        school_class=school_class,
        template=BUILT_IN[template],
        only_new=only_new,
        preview=preview,
        picture=base64.b64encode(preview.png).decode("ascii"),
    )


def _student_page(
    request: Request,
    db: Session,
    runtime: Runtime,
    record: StaffSession,
    seen: ClassStudent,
    message: StaffMessage | None = None,
) -> HTMLResponse:
    badge = classrooms.student_badge_state(db, seen.student.id, runtime.settings)
    return render_page(
        request,
        "student.html",
        record,
        school_class=seen.school_class,
        student=seen.student,
        state=badge.state,
        reference=badge.reference,
        message=message,
        has_badge=badge.has_badge,
        password_state=student_passwords.password_state(db, seen.student.id),
        password_given=student_passwords.has_given_password(db, seen.student.id),
        templates=BUILT_IN.values(),
    )


@router.get("/classes/{class_id}/students/{person_id}", response_class=HTMLResponse)
def student_page(
    request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentStaff, seen: VisibleStudent
) -> HTMLResponse:
    return _student_page(request, db, runtime, record, seen)


@router.post("/classes/{class_id}/students/{person_id}/print")
def print_student(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    seen: StudentForm,
    template: Annotated[str, Form()] = "square-2in-letter",
) -> Response:
    """One badge (a new one after a replacement, or a reprint), on a sheet of the chosen stock."""
    what = PrintRequest(person_id=seen.student.id)
    return _badge_pdf(request, db, runtime, record, what, template, seen.student.display_name)


@router.post("/classes/{class_id}/students/{person_id}/temporary", response_class=HTMLResponse)
def temporary(
    request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentStaff, seen: StudentForm
) -> HTMLResponse:
    issued = badges.temporary_code(db, runtime.keys, runtime.settings, seen.student, actor=actor(record))
    expires = issued.badge.expires_at
    return render_page(
        request,
        "temporary.html",
        record,
        school_class=seen.school_class,
        student=seen.student,
        qr_svg=qr_svg(str(issued.payload), scale=8),
        expires_at=expires,
        expires_iso=expires.isoformat(),
        minutes_left=int((expires - utcnow()).total_seconds() // 60),
    )


@router.post("/classes/{class_id}/students/{person_id}/replace", response_class=HTMLResponse)
def replace_badge(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    seen: StudentForm,
    confirm: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    if not confirm:
        message = StaffMessage(N_("Tick the box to confirm: the old badge stops working now."))
        return _student_page(request, db, runtime, record, seen, message)
    badges.replace(db, runtime.keys, runtime.settings, seen.student, actor=actor(record))
    message = StaffMessage(
        N_(
            "Replaced. The old badge no longer works. Print the new one: Print the class set, "
            "with 'Only new or replaced badges'."
        )
    )
    return _student_page(request, db, runtime, record, seen, message)


@router.post("/classes/{class_id}/students/{person_id}/revoke", response_class=HTMLResponse)
def revoke_badge(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    seen: StudentForm,
    confirm: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    current = badges.current_badge(db, seen.student.id)
    if not confirm or current is None:
        message = StaffMessage(N_("Tick the box to confirm.") if current else N_("There is no badge to revoke."))
        return _student_page(request, db, runtime, record, seen, message)
    badges.revoke(db, current, actor=actor(record))
    return _student_page(request, db, runtime, record, seen, StaffMessage(N_("Revoked. The badge no longer works.")))
