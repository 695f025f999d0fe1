"""Admin console: kiosks and browser scanners — enrolment codes, cart enrolment links (made,
shown once with their QR code, revoked), the list with last seen, school and software version,
and disabling one (its token stops working at once)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from badge_server import devices, enrol_links, schools
from badge_server.contract.words import N_
from badge_server.errors import EnrolLinkRefused
from badge_server.staff_words import StaffMessage
from badge_server.store.models import StaffSession
from badge_server.web.console.access import (
    CurrentAdmin,
    DeviceForm,
    EnrolLinkForm,
    SchoolForm,
    actor,
    qr_svg,
    visible_school_ids,
)
from badge_server.web.deps import RuntimeDep, SessionDep, public_base_url
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff/admin/devices")


def _page(request: Request, db: Session, record: StaffSession, **values: Any) -> HTMLResponse:
    scope = visible_school_ids(record)
    return render_page(
        request,
        "devices.html",
        record,
        devices=devices.devices_of(db, scope),
        links=[enrol_links.summary(link) for link in enrol_links.links_of(db, scope)],
        link_limits={"uses": enrol_links.MAX_USES, "hours": enrol_links.MAX_HOURS},
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
    server_url = public_base_url(request, runtime.settings)
    return _page(request, db, record, grant=grant, minutes=minutes, server_url=server_url)


@router.post("/{device_id}/disable", response_class=HTMLResponse)
def disable(request: Request, db: SessionDep, record: CurrentAdmin, device: DeviceForm) -> HTMLResponse:
    devices.disable_device(db, device.id, actor=actor(record))
    return _page(
        request,
        db,
        record,
        message=StaffMessage(N_("%(name)s is disabled. It can no longer sign anyone in."), {"name": device.name}),
    )


@router.post("/enrol-link", response_class=HTMLResponse)
def new_enrol_link(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentAdmin,
    school_id: SchoolForm,
    uses: Annotated[int, Form()] = enrol_links.DEFAULT_USES,
    hours: Annotated[float, Form()] = enrol_links.DEFAULT_HOURS,
    name_prefix: Annotated[str, Form(max_length=200)] = enrol_links.DEFAULT_PREFIX,
) -> HTMLResponse:
    base_url = public_base_url(request, runtime.settings)
    try:
        grant = enrol_links.create_link(
            db, school_id, base_url, actor=actor(record), max_uses=uses, hours=hours, name_prefix=name_prefix
        )
    except EnrolLinkRefused as exc:  # only its audit row was written: committed with the page
        return _page(request, db, record, link_error=exc.message)
    return _page(request, db, record, link_grant=grant, link_qr=qr_svg(grant.url, scale=5))


@router.post("/enrol-links/{link_id}/revoke", response_class=HTMLResponse)
def revoke_enrol_link(request: Request, db: SessionDep, record: CurrentAdmin, link: EnrolLinkForm) -> HTMLResponse:
    try:
        enrol_links.revoke_link(db, link.id, actor=actor(record))
    except EnrolLinkRefused as exc:
        return _page(request, db, record, link_error=exc.message)
    return _page(
        request,
        db,
        record,
        message=StaffMessage(
            N_(
                "The enrolment link %(prefix)s is revoked: it enrols nothing more. "
                "The %(count)s devices it enrolled stay; disable any of them below."
            ),
            {"prefix": link.name_prefix, "count": link.uses},
        ),
    )
