"""What every staff console page shares: rendering, CSRF, the signed-in staff member, and
what their role lets them see (checked on the server for every request, never by hiding links)."""

from __future__ import annotations

import hmac
from typing import Annotated

import zxingcpp
from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server import staff as staff_accounts
from badge_server.errors import CsrfRejected, StaffForbidden, StaffSignInNeeded
from badge_server.store.models import Enrollment, RosterRole, SchoolClass, StaffRole, StaffSession
from badge_server.web.deps import SessionDep

SESSION_COOKIE = "staff_session"


def check_csrf(expected: str, given: str) -> None:
    # Constant-time: the token must not be guessable byte by byte from response times.
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        raise CsrfRejected()


def find_staff_session(request: Request, db: Session) -> StaffSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    return staff_accounts.find_session(db, token) if token else None


def signed_in_staff(request: Request, db: SessionDep) -> StaffSession:
    record = find_staff_session(request, db)
    if record is None:
        raise StaffSignInNeeded()
    if not record.mfa_done:
        raise StaffSignInNeeded("/staff/mfa" if record.staff.totp_enabled else "/staff/mfa/setup")
    return record


CurrentStaff = Annotated[StaffSession, Depends(signed_in_staff)]


def visible_classes(db: Session, record: StaffSession) -> list[SchoolClass]:
    """Teachers see their own classes, school admins their school, district admins all."""
    user = record.staff
    query = select(SchoolClass).where(SchoolClass.active.is_(True)).order_by(SchoolClass.title)
    if user.role == StaffRole.TEACHER:
        mine = select(Enrollment.class_id).where(
            Enrollment.person_id == (user.person_id or ""),
            Enrollment.role == RosterRole.TEACHER,
            Enrollment.active.is_(True),
        )
        query = query.where(SchoolClass.id.in_(mine))
    elif user.role == StaffRole.SCHOOL_ADMIN:
        query = query.where(SchoolClass.school_id == (user.school_id or ""))
    return list(db.scalars(query))


def visible_class(db: Session, record: StaffSession, class_id: str) -> SchoolClass:
    found = next((c for c in visible_classes(db, record) if c.id == class_id), None)
    if found is None:
        raise StaffForbidden()  # checked on the server for every request, not by hiding links
    return found


def qr_svg(text: str, scale: int = 4) -> str:
    """An inline SVG QR code (the XML prolog zxing-cpp writes does not belong inside HTML)."""
    svg = str(zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="H").to_svg(scale=scale))
    return svg[svg.index("<svg") :]


def actor(record: StaffSession) -> str:
    """How a staff member appears in the audit log."""
    return f"staff:{record.staff.username}"


def signed_in_admin(record: CurrentStaff) -> StaffSession:
    """A school or district admin; anyone else gets the same 404 as a page that does not exist."""
    if record.staff.role not in (StaffRole.SCHOOL_ADMIN, StaffRole.DISTRICT_ADMIN):
        raise StaffForbidden()
    return record


CurrentAdmin = Annotated[StaffSession, Depends(signed_in_admin)]


def signed_in_district_admin(record: CurrentStaff) -> StaffSession:
    if record.staff.role != StaffRole.DISTRICT_ADMIN:
        raise StaffForbidden()
    return record


CurrentDistrictAdmin = Annotated[StaffSession, Depends(signed_in_district_admin)]


def visible_school_ids(record: StaffSession) -> list[str] | None:
    """The schools an admin manages: ``None`` for a district admin (all of them)."""
    return None if record.staff.role == StaffRole.DISTRICT_ADMIN else [record.staff.school_id or ""]
