"""Admin console: kiosks and browser scanners — enrolment codes, the list with last seen,
school and software version, and disabling one (its token stops working at once)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from badge_server import devices, schools
from badge_server.store.models import StaffSession
from badge_server.web.console.access import CurrentAdmin, DeviceForm, SchoolForm, actor, visible_school_ids
from badge_server.web.deps import RuntimeDep, SessionDep
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff/admin/devices")


def _page(request: Request, db: Session, record: StaffSession, **values: Any) -> HTMLResponse:
    scope = visible_school_ids(record)
    return render_page(
        request,
        "devices.html",
        record,
        devices=devices.devices_of(db, scope),
        schools=schools.find_schools(db, scope, open_only=True),
        school_names=schools.school_names(db),
        **values,
    )


@router.get("", response_class=HTMLResponse)
def device_list(request: Request, db: SessionDep, record: CurrentAdmin) -> HTMLResponse:
    return _page(request, db, record)


@router.post("/enroll-code", response_class=HTMLResponse)
def new_enroll_code(
    request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentAdmin, school_id: SchoolForm
) -> HTMLResponse:
    minutes = runtime.settings.enroll_code_minutes
    grant = devices.create_enroll_code(db, school_id, minutes=minutes, actor=actor(record))
    server_url = runtime.settings.public_url or str(request.base_url)
    return _page(request, db, record, grant=grant, minutes=minutes, server_url=server_url.rstrip("/"))


@router.post("/{device_id}/disable", response_class=HTMLResponse)
def disable(request: Request, db: SessionDep, record: CurrentAdmin, device: DeviceForm) -> HTMLResponse:
    devices.disable_device(db, device.id, actor=actor(record))
    return _page(request, db, record, message=f"{device.name} is disabled. It can no longer sign anyone in.")
