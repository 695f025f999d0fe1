"""The admin console: schools and people from the roster (read-only), the last import and a
roster upload (the same all-or-nothing importer as the command line), badge policy, and staff
accounts. School admins see their school; district admins everything."""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.formparsers import MultiPartException

from badge_server import schools
from badge_server import staff as staff_accounts
from badge_server.errors import NotFoundError, PolicyError, RosterImportError, StaffForbidden, UploadRefused
from badge_server.roster import import_roster, last_import
from badge_server.roster_files import ROSTER_FILES, unpack_roster
from badge_server.store.models import StaffSession
from badge_server.web.console.access import (
    AccountForm,
    AdminForm,
    CurrentAdmin,
    CurrentDistrictAdmin,
    actor,
    check_csrf,
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


async def _unpack_upload(files: list[StarletteUploadFile], target: Path) -> list[str]:
    """The upload's roster files (loose CSVs or one ZIP) into ``target``."""
    return unpack_roster([(upload.filename or "", await upload.read()) for upload in files], target)


@router.post("/roster", response_class=HTMLResponse)
async def upload_roster(
    request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentDistrictAdmin
) -> HTMLResponse:
    # No File() or Form() parameters: FastAPI would read (and spool to disk) the whole body to
    # fill them before any dependency ran, so an anonymous client could upload 100 MB. The
    # session is checked first (from the cookie), then the body is read and its CSRF token.
    try:
        async with request.form(max_files=len(ROSTER_FILES)) as form:  # closes its temp files
            csrf = form.get("csrf")
            check_csrf(record.csrf_token, csrf if isinstance(csrf, str) else "")
            files = [f for f in form.getlist("files") if isinstance(f, StarletteUploadFile)]
            confirmed = form.get("allow_mass_deactivation") == "yes"
            preview = form.get("preview") == "yes"
            with tempfile.TemporaryDirectory(prefix="roster-") as folder:
                names = await _unpack_upload(files, Path(folder))
                label = f"upload by {record.staff.username}: {', '.join(sorted(names))}"
                # The import writes in transactions of its own: this request's (it checked the
                # staff session) ends first, or on SQLite the import would wait on its writer lock.
                await run_in_threadpool(db.commit)
                # In a worker thread: a district's import takes seconds, and on the event loop it
                # held up every other request of this process meanwhile.
                report = await run_in_threadpool(
                    partial(
                        import_roster,
                        runtime.factory,
                        Path(folder),
                        runtime.keys,
                        runtime.settings,
                        actor=actor(record),
                        source=label,
                        allow_mass_deactivation=confirmed,
                        dry_run=preview,
                    )
                )
    except MultiPartException as exc:
        refused = f"the upload is not readable ({exc.message})"
        return render_page(request, "roster_result.html", record, refused=refused, status=400)
    except RosterImportError as exc:
        return render_page(request, "roster_result.html", record, problems=exc.problems, status=422)
    except UploadRefused as exc:
        return render_page(request, "roster_result.html", record, refused=str(exc), status=400)
    return render_page(request, "roster_result.html", record, report=report.as_dict(), preview=preview)


@router.get("/staff", response_class=HTMLResponse)
def staff_list(request: Request, db: SessionDep, record: CurrentAdmin, message: str = "") -> HTMLResponse:
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


def _refused(request: Request, db: SessionDep, record: StaffSession, message: str) -> HTMLResponse:
    response = staff_list(request, db, record, message=message)
    response.status_code = 400
    return response


def _done(message: str) -> RedirectResponse:
    return RedirectResponse(f"/staff/admin/staff?{urlencode({'message': message})}", status_code=303)


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
    return _done(
        f"Account {username.strip().lower()} created. Give them the password in person; "
        "they set up their second factor at first sign-in."
    )


@router.post("/staff/{staff_id}/disable")
def disable_staff_account(db: SessionDep, record: CurrentAdmin, user: AccountForm) -> RedirectResponse:
    staff_accounts.disable_staff(db, user, actor=actor(record))
    return _done(f"Account {user.username} disabled.")


@router.post("/staff/{staff_id}/password", response_class=HTMLResponse)
def reset_password(
    request: Request, db: SessionDep, record: CurrentAdmin, user: AccountForm, password: Annotated[str, Form()]
) -> Response:
    try:
        staff_accounts.set_password(db, user, password, actor=actor(record))
    except PolicyError as exc:
        return _refused(request, db, record, f"{user.username}: {exc}")
    return _done(f"New password set for {user.username}; they are signed out everywhere.")


@router.post("/staff/{staff_id}/reset-mfa")
def reset_mfa(db: SessionDep, record: CurrentAdmin, user: AccountForm) -> RedirectResponse:
    staff_accounts.reset_second_factor(db, user, actor=actor(record))
    return _done(f"{user.username} sets up a new authenticator app at their next sign-in.")
