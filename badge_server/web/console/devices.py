"""Admin console: kiosks and browser scanners — enrolment codes, the list with last seen,
school and software version, and disabling one (its token stops working at once)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from badge_server import devices
from badge_server.errors import StaffForbidden
from badge_server.store.models import Device, Org
from badge_server.web.console.access import CurrentAdmin, actor, check_csrf, visible_school_ids
from badge_server.web.deps import RuntimeDep, SessionDep
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff/admin/devices")


def _page(request: Request, db: SessionDep, record: CurrentAdmin, status: int = 200, **values: object) -> HTMLResponse:
    scope = visible_school_ids(record)
    query = select(Device).order_by(Device.disabled_at.is_not(None), Device.name)
    schools_query = select(Org).where(Org.type == "school", Org.active.is_(True)).order_by(Org.name)
    if scope is not None:
        query = query.where(Device.school_id.in_(scope))
        schools_query = schools_query.where(Org.id.in_(scope))
    schools = list(db.scalars(schools_query))
    names = {o.id: o.name for o in db.scalars(select(Org))}
    return render_page(
        request,
        "devices.html",
        record,
        status=status,
        devices=list(db.scalars(query)),
        schools=schools,
        school_names=names,
        **values,
    )


@router.get("", response_class=HTMLResponse)
def device_list(request: Request, db: SessionDep, record: CurrentAdmin) -> HTMLResponse:
    return _page(request, db, record)


@router.post("/enroll-code", response_class=HTMLResponse)
def new_enroll_code(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentAdmin,
    csrf: Annotated[str, Form()],
    school_id: Annotated[str, Form()],
) -> HTMLResponse:
    check_csrf(record.csrf_token, csrf)
    scope = visible_school_ids(record)
    if scope is not None and school_id not in scope:
        raise StaffForbidden()
    grant = devices.create_enroll_code(db, school_id, minutes=runtime.settings.enroll_code_minutes, actor=actor(record))
    server_url = runtime.settings.public_url or str(request.base_url)
    return _page(
        request,
        db,
        record,
        grant=grant,
        minutes=runtime.settings.enroll_code_minutes,
        server_url=server_url.rstrip("/"),
    )


@router.post("/{device_id}/disable", response_class=HTMLResponse)
def disable(
    request: Request, device_id: str, db: SessionDep, record: CurrentAdmin, csrf: Annotated[str, Form()]
) -> HTMLResponse:
    check_csrf(record.csrf_token, csrf)
    device = db.get(Device, device_id)
    scope = visible_school_ids(record)
    if device is None or (scope is not None and device.school_id not in scope):
        raise StaffForbidden()
    devices.disable_device(db, device_id, actor=actor(record))
    return _page(request, db, record, message=f"{device.name} is disabled. It can no longer sign anyone in.")
