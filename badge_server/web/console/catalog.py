"""Admin console: the app catalog — add and edit the tiles students see (name, icon, launch
URL, and who sees them: roles, grades, schools). District admins only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from badge_server import catalog, schools
from badge_server.errors import NotFoundError, PolicyError, StaffForbidden, UploadRefused
from badge_server.settings import DEFAULT_BADGE_GRADES
from badge_server.store.models import App, RosterRole, StaffSession
from badge_server.web.console.access import CurrentDistrictAdmin, DistrictAdminForm, actor
from badge_server.web.deps import SessionDep
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff/admin/apps")
AUDIENCE_ROLES = (RosterRole.STUDENT, RosterRole.TEACHER)  # who an app tile can be shown to


def _form(
    request: Request, db: Session, record: StaffSession, app: App | None, status: int = 200, **values: object
) -> HTMLResponse:
    return render_page(
        request,
        "app_edit.html",
        record,
        status=status,
        app=app,
        schools=schools.find_schools(db, None),
        grades=DEFAULT_BADGE_GRADES,
        roles=AUDIENCE_ROLES,
        **values,
    )


@router.get("", response_class=HTMLResponse)
def app_list(request: Request, db: SessionDep, record: CurrentDistrictAdmin) -> HTMLResponse:
    return render_page(request, "apps.html", record, apps=catalog.all_apps(db))


@router.get("/new", response_class=HTMLResponse)
def new_app(request: Request, db: SessionDep, record: CurrentDistrictAdmin) -> HTMLResponse:
    return _form(request, db, record, None)


@router.get("/{app_id}", response_class=HTMLResponse)
def edit_app(request: Request, app_id: str, db: SessionDep, record: CurrentDistrictAdmin) -> HTMLResponse:
    app = catalog.find_app(db, app_id)
    if app is None:
        raise StaffForbidden()
    return _form(request, db, record, app)


@router.post("/save", response_class=HTMLResponse)
async def save_app(
    request: Request,
    db: SessionDep,
    record: DistrictAdminForm,
    name: Annotated[str, Form()],
    launch_url: Annotated[str, Form()],
    color: Annotated[str, Form()] = "#3566c8",
    app_id: Annotated[str, Form()] = "",
    active: Annotated[bool, Form()] = False,
    home_allowed: Annotated[bool, Form()] = False,
    roles: Annotated[list[str] | None, Form()] = None,
    grades: Annotated[list[str] | None, Form()] = None,
    school_ids: Annotated[list[str] | None, Form()] = None,
    icon: Annotated[UploadFile | None, File()] = None,
) -> Response:
    entry = catalog.AppEntry(
        name=name,
        launch_url=launch_url,
        color=color,
        roles=tuple(roles or ()),
        grades=tuple(grades or ()),
        school_ids=tuple(school_ids or ()),
        active=active,
        home_allowed=home_allowed,
    )
    icon_bytes = await icon.read() if icon is not None and icon.filename else b""
    existing = catalog.find_app(db, app_id) if app_id else None
    try:
        # A savepoint: the app and its icon change together or not at all.
        with db.begin_nested():
            saved = catalog.save_app(db, app_id or None, entry, actor=actor(record))
            if icon_bytes:
                catalog.set_icon(db, saved, icon_bytes, actor=actor(record))
    except (PolicyError, UploadRefused, NotFoundError) as exc:
        return _form(request, db, record, existing, status=400, error=str(exc), entry=entry)
    return RedirectResponse("/staff/admin/apps", status_code=303)
