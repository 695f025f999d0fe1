"""The admin console: schools and people from the roster (read-only), the last import (the upload
is roster_upload.py), badge policy, and staff accounts. School admins see their school; district
admins everything."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from badge_server import schools
from badge_server import staff as staff_accounts
from badge_server.contract.words import N_
from badge_server.errors import NotFoundError, PolicyError, StaffForbidden
from badge_server.roster import last_import
from badge_server.staff_words import StaffMessage
from badge_server.store.models import StaffSession
from badge_server.web.console.access import (
    AccountForm,
    AdminForm,
    CurrentAdmin,
    actor,
    visible_school_ids,
)
from badge_server.web.deps import RuntimeDep, SessionDep
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff/admin")


@router.get("", response_class=HTMLResponse)
def overview(request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentAdmin) -> HTMLResponse:
    return render_page(
        request,
        "admin.html",
        record,
        schools=schools.school_summaries(db, visible_school_ids(record)),
        under_attack=staff_accounts.accounts_under_attack(db, visible_school_ids(record)),
        last_import=last_import(db),
        settings=runtime.settings,
    )


@router.get("/people", response_class=HTMLResponse)
def people(
    request: Request, db: SessionDep, record: CurrentAdmin, q: str = "", school: str = "", role: str = ""
) -> HTMLResponse:
    found = schools.find_people(db, visible_school_ids(record), text=q, school=school, role=role)
    return render_page(request, "people.html", record, people=found, q=q, role=role)


#: What the staff page says after a change, by the ``done`` word its address carries with the
#: account: a redirect carries no free text, so a crafted link cannot put words on the page.
DONE_MESSAGES = {
    "created": N_(
        "Account %(account)s created. Give them the password in person; "
        "they set up their second factor at first sign-in."
    ),
    "disabled": N_("Account %(account)s disabled."),
    "password": N_("New password set for %(account)s; they are signed out everywhere."),
    "second_factor": N_("%(account)s sets up a new authenticator app at their next sign-in."),
}


@router.get("/staff", response_class=HTMLResponse)
def staff_list(
    request: Request, db: SessionDep, record: CurrentAdmin, done: str = "", account: str = ""
) -> HTMLResponse:
    message = StaffMessage(DONE_MESSAGES[done], {"account": account[:100]}) if done in DONE_MESSAGES else None
    return _staff_page(request, db, record, message)


def _staff_page(
    request: Request, db: Session, record: StaffSession, message: StaffMessage | str | None
) -> HTMLResponse:
    scope = visible_school_ids(record)
    return render_page(
        request,
        "staff_list.html",
        record,
        users=staff_accounts.accounts_of(db, scope),
        teachers=schools.find_teachers(db, scope),
        schools=schools.find_schools(db, scope),
        pause_after=staff_accounts.PAUSE_AFTER_WRONG_CODES,
        message=message,
    )


def _refused(request: Request, db: Session, record: StaffSession, message: str) -> HTMLResponse:
    response = _staff_page(request, db, record, message)
    response.status_code = 400
    return response


def _done(done: str, account: str) -> RedirectResponse:
    return RedirectResponse(f"/staff/admin/staff?{urlencode({'done': done, 'account': account})}", status_code=303)


@router.post("/staff", response_class=HTMLResponse)
def create_staff_account(
    request: Request,
    db: SessionDep,
    record: AdminForm,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
    person_id: Annotated[str, Form()] = "",
    school_id: Annotated[str, Form()] = "",
) -> Response:
    if not staff_accounts.may_create(db, visible_school_ids(record), role, person_id=person_id, school_id=school_id):
        raise StaffForbidden()
    try:
        staff_accounts.create_staff(
            db,
            username,
            password,
            role,
            actor=actor(record),
            person_id=person_id or None,
            school_id=school_id or None,
        )
    except (PolicyError, NotFoundError) as exc:
        return _refused(request, db, record, str(exc))
    return _done("created", username.strip().lower())


@router.post("/staff/{staff_id}/disable")
def disable_staff_account(db: SessionDep, record: CurrentAdmin, user: AccountForm) -> RedirectResponse:
    staff_accounts.disable_staff(db, user, actor=actor(record))
    return _done("disabled", user.username)


@router.post("/staff/{staff_id}/password", response_class=HTMLResponse)
def reset_password(
    request: Request, db: SessionDep, record: CurrentAdmin, user: AccountForm, password: Annotated[str, Form()]
) -> Response:
    try:
        staff_accounts.set_password(db, user, password, actor=actor(record))
    except PolicyError as exc:
        return _refused(request, db, record, f"{user.username}: {exc}")
    return _done("password", user.username)


@router.post("/staff/{staff_id}/reset-mfa")
def reset_mfa(db: SessionDep, record: CurrentAdmin, user: AccountForm) -> RedirectResponse:
    staff_accounts.reset_second_factor(db, user, actor=actor(record))
    return _done("second_factor", user.username)
