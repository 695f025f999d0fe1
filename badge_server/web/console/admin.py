"""The admin console: schools and people from the roster (read-only), the last import and a
roster upload (the same all-or-nothing importer as the command line), badge policy, and staff
accounts. School admins see their school; district admins everything."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from badge_server import staff as staff_accounts
from badge_server.contract.payload import BadgeKind
from badge_server.errors import NotFoundError, PolicyError, RosterImportError, StaffForbidden, UploadRefused
from badge_server.roster import import_roster
from badge_server.store.models import (
    Badge,
    BadgeStatus,
    Enrollment,
    ImportRun,
    Org,
    Person,
    RosterRole,
    SchoolClass,
    StaffRole,
    StaffUser,
)
from badge_server.web.console.access import CurrentAdmin, CurrentDistrictAdmin, actor, check_csrf, visible_school_ids
from badge_server.web.deps import RuntimeDep, SessionDep
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff/admin")
ROSTER_FILES = (
    "manifest.csv",
    "orgs.csv",
    "academicSessions.csv",
    "courses.csv",
    "classes.csv",
    "users.csv",
    "enrollments.csv",
    "demographics.csv",
)
MAX_ROSTER_BYTES = 200 * 1024 * 1024  # unpacked; a 50,000-student district is a few tens of MB


@router.get("", response_class=HTMLResponse)
def overview(request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentAdmin) -> HTMLResponse:
    scope = visible_school_ids(record)
    query = select(Org).where(Org.type == "school").order_by(Org.name)
    if scope is not None:
        query = query.where(Org.id.in_(scope))
    schools = []
    for school in db.scalars(query):
        students = select(Person.id).where(
            Person.school_id == school.id, Person.role == RosterRole.STUDENT, Person.active
        )
        schools.append(
            {
                "id": school.id,
                "name": school.name,
                "active": school.active,
                "classes": db.scalar(
                    select(func.count()).select_from(SchoolClass).where(SchoolClass.school_id == school.id)
                ),
                "students": db.scalar(select(func.count()).select_from(students.subquery())),
                "badges": db.scalar(
                    select(func.count())
                    .select_from(Badge)
                    .where(
                        Badge.person_id.in_(students), Badge.status == BadgeStatus.ACTIVE, Badge.kind == BadgeKind.BADGE
                    )
                ),
            }
        )
    last_import = db.scalars(select(ImportRun).order_by(ImportRun.id.desc())).first()
    return render_page(
        request, "admin.html", record, schools=schools, last_import=last_import, settings=runtime.settings
    )


@router.get("/people", response_class=HTMLResponse)
def people(
    request: Request, db: SessionDep, record: CurrentAdmin, q: str = "", school: str = "", role: str = ""
) -> HTMLResponse:
    scope = visible_school_ids(record)
    query = select(Person).order_by(Person.family_name, Person.given_name).limit(500)
    if scope is not None:
        query = query.where(Person.school_id.in_(scope))
    if school:
        query = query.where(Person.school_id == school)
    if role:
        query = query.where(Person.role == role)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(
            func.lower(Person.given_name).like(like)
            | func.lower(Person.family_name).like(like)
            | func.lower(Person.id).like(like)
        )
    found = list(db.scalars(query))
    classes: dict[str, list[str]] = {}
    for person_id, title in db.execute(
        select(Enrollment.person_id, SchoolClass.title)
        .join(SchoolClass, SchoolClass.id == Enrollment.class_id)
        .where(Enrollment.person_id.in_([p.id for p in found]), Enrollment.active.is_(True))
    ):
        classes.setdefault(person_id, []).append(title)
    schools = {o.id: o.name for o in db.scalars(select(Org))}
    return render_page(request, "people.html", record, people=found, classes=classes, schools=schools, q=q, role=role)


async def _unpack_upload(files: list[UploadFile], target: Path) -> list[str]:
    """Roster files from the upload (loose CSVs or one ZIP) into ``target``; only known names."""
    written: list[str] = []
    total = 0
    for upload in files:
        data = await upload.read()
        name = PurePosixPath(upload.filename or "").name
        if name.lower().endswith(".zip"):
            try:
                archive = zipfile.ZipFile(io.BytesIO(data))
            except zipfile.BadZipFile as exc:
                raise UploadRefused(f"{name} is not a readable ZIP file") from exc
            for member in archive.infolist():
                inner = PurePosixPath(member.filename).name  # folders inside the ZIP are ignored
                if inner in ROSTER_FILES:
                    total += member.file_size  # the declared size; a ZIP bomb stops here
                    if total > MAX_ROSTER_BYTES:
                        raise UploadRefused("the roster is larger than 200 MB unpacked")
                    (target / inner).write_bytes(archive.read(member))
                    written.append(inner)
        elif name in ROSTER_FILES:
            total += len(data)
            (target / name).write_bytes(data)
            written.append(name)
        elif name:
            raise UploadRefused(f"{name} is not a OneRoster file (expected {', '.join(ROSTER_FILES[:7])} or a ZIP)")
    if not written:
        raise UploadRefused("choose the roster's CSV files, or one ZIP of them")
    return written


@router.post("/roster", response_class=HTMLResponse)
async def upload_roster(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentDistrictAdmin,
    csrf: Annotated[str, Form()],
    files: Annotated[list[UploadFile], File()],
) -> HTMLResponse:
    check_csrf(record.csrf_token, csrf)
    with tempfile.TemporaryDirectory(prefix="roster-") as folder:
        try:
            names = await _unpack_upload(files, Path(folder))
            label = f"upload by {record.staff.username}: {', '.join(sorted(names))}"
            report = import_roster(db, Path(folder), runtime.keys, runtime.settings, actor=actor(record), source=label)
        except RosterImportError as exc:
            return render_page(request, "roster_result.html", record, problems=exc.problems, status=422)
        except UploadRefused as exc:
            return render_page(request, "roster_result.html", record, refused=str(exc), status=400)
    return render_page(request, "roster_result.html", record, report=report.as_dict())


@router.get("/staff", response_class=HTMLResponse)
def staff_list(request: Request, db: SessionDep, record: CurrentAdmin, message: str = "") -> HTMLResponse:
    scope = visible_school_ids(record)
    users = list(db.scalars(select(StaffUser).order_by(StaffUser.username)))
    if scope is not None:
        teachers_here = set(db.scalars(select(Person.id).where(Person.school_id.in_(scope))))
        users = [u for u in users if u.school_id in scope or u.person_id in teachers_here]
    teachers = db.scalars(
        select(Person).where(Person.role == RosterRole.TEACHER, Person.active.is_(True)).order_by(Person.family_name)
    ).all()
    if scope is not None:
        teachers = [t for t in teachers if t.school_id in scope]
    schools = db.scalars(select(Org).where(Org.type == "school").order_by(Org.name)).all()
    if scope is not None:
        schools = [s for s in schools if s.id in scope]
    return render_page(
        request, "staff_list.html", record, users=users, teachers=teachers, schools=schools, message=message
    )


@router.post("/staff", response_class=HTMLResponse)
def create_staff_account(
    request: Request,
    db: SessionDep,
    record: CurrentAdmin,
    csrf: Annotated[str, Form()],
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
    person_id: Annotated[str, Form()] = "",
    school_id: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(record.csrf_token, csrf)
    scope = visible_school_ids(record)
    if scope is not None:
        # A school admin makes teachers and admins of their own school only.
        person = db.get(Person, person_id) if person_id else None
        if role == StaffRole.DISTRICT_ADMIN or (
            role == StaffRole.TEACHER and (person is None or person.school_id not in scope)
        ):
            raise StaffForbidden()
        if role == StaffRole.SCHOOL_ADMIN and school_id not in scope:
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
        response = staff_list(request, db, record, message=str(exc))
        response.status_code = 400
        return response
    return _done(
        f"Account {username.strip().lower()} created. Give them the password in person; "
        "they set up their second factor at first sign-in."
    )


def _manageable(db: SessionDep, record: CurrentAdmin, staff_id: str) -> StaffUser:
    """An account this admin may change: not their own, and (for a school admin) of their school."""
    user = db.get(StaffUser, staff_id)
    scope = visible_school_ids(record)
    if user is None or user.id == record.staff.id:
        raise StaffForbidden()
    if scope is not None:
        person = db.get(Person, user.person_id or "")
        in_school = user.school_id in scope or (person is not None and person.school_id in scope)
        if user.role == StaffRole.DISTRICT_ADMIN or not in_school:
            raise StaffForbidden()
    return user


def _done(message: str) -> RedirectResponse:
    return RedirectResponse(f"/staff/admin/staff?{urlencode({'message': message})}", status_code=303)


@router.post("/staff/{staff_id}/disable")
def disable_staff_account(
    staff_id: str, db: SessionDep, record: CurrentAdmin, csrf: Annotated[str, Form()]
) -> RedirectResponse:
    check_csrf(record.csrf_token, csrf)
    user = _manageable(db, record, staff_id)
    staff_accounts.disable_staff(db, user, actor=actor(record))
    return _done(f"Account {user.username} disabled.")


@router.post("/staff/{staff_id}/password", response_class=HTMLResponse)
def reset_password(
    request: Request,
    staff_id: str,
    db: SessionDep,
    record: CurrentAdmin,
    csrf: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    check_csrf(record.csrf_token, csrf)
    user = _manageable(db, record, staff_id)
    try:
        staff_accounts.set_password(db, user, password, actor=actor(record))
    except PolicyError as exc:
        response = staff_list(request, db, record, message=f"{user.username}: {exc}")
        response.status_code = 400
        return response
    return _done(f"New password set for {user.username}; they are signed out everywhere.")


@router.post("/staff/{staff_id}/reset-mfa")
def reset_mfa(staff_id: str, db: SessionDep, record: CurrentAdmin, csrf: Annotated[str, Form()]) -> RedirectResponse:
    check_csrf(record.csrf_token, csrf)
    user = _manageable(db, record, staff_id)
    staff_accounts.reset_second_factor(db, user, actor=actor(record))
    return _done(f"{user.username} sets up a new authenticator app at their next sign-in.")
