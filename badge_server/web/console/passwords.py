"""Student passwords in the teacher's console: set (or reset) one, read a given one out again,
and give passwords to every student of a class who has none, printable as a list.

Every password shown is shown on a POST (a form with the CSRF token), never at a URL a browser's
history or a proxy's log would keep, and each showing is audited.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from badge_server import audit, classrooms, student_passwords
from badge_server.password_sign_in import reset_password
from badge_server.store.account_models import StudentPassword
from badge_server.store.models import Person
from badge_server.web.console.access import ClassForm, CurrentStaff, StudentForm, actor
from badge_server.web.deps import RuntimeDep, SessionDep
from badge_server.web.sso_pages import tell_apps_signed_out
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff")


@router.post("/classes/{class_id}/students/{person_id}/password", response_class=HTMLResponse)
def set_new_password(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    seen: StudentForm,
    background: BackgroundTasks,
) -> HTMLResponse:
    """A new generated password; the old one and the sessions it opened stop at once."""
    given, ended = reset_password(db, runtime.keys, runtime.settings, seen.student, actor=actor(record))
    for session in ended:
        tell_apps_signed_out(request, db, runtime, session, background)
    return render_page(
        request,
        "password.html",
        record,
        school_class=seen.school_class,
        rows=[(seen.student, given)],
        fresh=True,
        signed_out=len(ended),
    )


@router.post("/classes/{class_id}/students/{person_id}/password/show", response_class=HTMLResponse)
def show_password(
    request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentStaff, seen: StudentForm
) -> HTMLResponse:
    """The password a teacher gave, to read out again (not once the student chose their own)."""
    given = student_passwords.given_password(runtime.keys, db.get(StudentPassword, seen.student.id))
    audit.record(db, "password.show", "ok" if given else "refused", actor=actor(record), person_id=seen.student.id)
    return render_page(request, "password.html", record, school_class=seen.school_class, rows=[(seen.student, given)])


@router.post("/classes/{class_id}/passwords", response_class=HTMLResponse)
def give_missing_passwords(
    request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentStaff, school_class: ClassForm
) -> HTMLResponse:
    """A password for every student of the class who has none; everyone's given one, as a list."""
    rows: list[tuple[Person, str | None]] = []
    roster = classrooms.class_roster(db, school_class.id, runtime.settings)
    people = {p.id: p for p in db.scalars(select(Person).where(Person.id.in_([r.id for r in roster])))}
    for row in roster:
        person = people[row.id]
        stored = db.get(StudentPassword, person.id)
        if stored is None:
            given: str | None = student_passwords.give_password(
                db, runtime.keys, runtime.settings, person, actor=actor(record)
            )
        else:
            given = student_passwords.given_password(runtime.keys, stored)
        rows.append((person, given))
    audit.record(db, "password.show", actor=actor(record), class_id=school_class.id, students=len(rows))
    return render_page(request, "password.html", record, school_class=school_class, rows=rows, fresh=False)
