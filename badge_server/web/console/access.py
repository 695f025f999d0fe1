"""What every staff console page shares: CSRF, the signed-in staff member, and what their role
lets them see (checked on the server for every request, never by hiding links).

Routes declare these as parameters. Every form route declares exactly one ``*Form``: it reads
the form's ``csrf`` field and checks it against the session before the form is acted on (and
before the scope of what the form names is looked at). A route that also needs the signed-in
staff member declares ``CurrentStaff`` or ``CurrentAdmin`` beside it: FastAPI resolves both once
per request, and a second ``*Form`` would report a missing token twice.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

import zxingcpp
from fastapi import Depends, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server import classrooms, devices, enrol_links, schools
from badge_server import staff as staff_accounts
from badge_server.errors import CsrfRejected, StaffForbidden, StaffSignInNeeded
from badge_server.store.models import Device, Org, Person, SchoolClass, StaffRole, StaffSession, StaffUser
from badge_server.store.sso_models import EnrolLink
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
CsrfField = Annotated[str, Form()]


def staff_form(record: CurrentStaff, csrf: CsrfField) -> StaffSession:
    """The signed-in staff member, whose form carried their session's CSRF token."""
    check_csrf(record.csrf_token, csrf)
    return record


StaffForm = Annotated[StaffSession, Depends(staff_form)]


def admin_form(record: CurrentAdmin, csrf: CsrfField) -> StaffSession:
    """A school or district admin, whose form carried their session's CSRF token."""
    check_csrf(record.csrf_token, csrf)
    return record


AdminForm = Annotated[StaffSession, Depends(admin_form)]


def district_admin_form(record: CurrentDistrictAdmin, csrf: CsrfField) -> StaffSession:
    """A district admin, whose form carried their session's CSRF token."""
    check_csrf(record.csrf_token, csrf)
    return record


DistrictAdminForm = Annotated[StaffSession, Depends(district_admin_form)]


def visible_school_ids(record: StaffSession) -> list[str] | None:
    """The schools an admin manages: ``None`` for a district admin (all of them)."""
    return None if record.staff.role == StaffRole.DISTRICT_ADMIN else [record.staff.school_id or ""]


def policy_orgs(db: Session, record: StaffSession) -> list[Org]:
    """The orgs whose policies this admin sets: the district (a district admin only) and the
    open schools they manage."""
    visible = visible_school_ids(record)
    found = schools.find_schools(db, visible, open_only=True)
    if visible is None:
        found = [*db.scalars(select(Org).where(Org.type == "district").order_by(Org.name)), *found]
    return found


def visible_class(db: SessionDep, record: CurrentStaff, class_id: str) -> SchoolClass:
    """The class ``class_id`` of the path, if the staff member may see it."""
    found = next((c for c in classrooms.visible_classes(db, record.staff) if c.id == class_id), None)
    if found is None:
        raise StaffForbidden()  # 404: another teacher's class must not be told apart from none
    return found


def class_form(db: SessionDep, record: StaffForm, class_id: str) -> SchoolClass:
    """The same, for a form about that class."""
    return visible_class(db, record, class_id)


VisibleClass = Annotated[SchoolClass, Depends(visible_class)]
ClassForm = Annotated[SchoolClass, Depends(class_form)]


@dataclass(frozen=True)
class ClassStudent:
    """A student, and the class through which the staff member sees them."""

    school_class: SchoolClass
    student: Person


def visible_student(db: SessionDep, school_class: VisibleClass, person_id: str) -> ClassStudent:
    """The student ``person_id`` of the path's class, if the staff member may see that class."""
    student = classrooms.student_of(db, school_class.id, person_id)
    if student is None:
        raise StaffForbidden()
    return ClassStudent(school_class, student)


def student_form(db: SessionDep, school_class: ClassForm, person_id: str) -> ClassStudent:
    """The same, for a form about that student."""
    return visible_student(db, school_class, person_id)


VisibleStudent = Annotated[ClassStudent, Depends(visible_student)]
StudentForm = Annotated[ClassStudent, Depends(student_form)]


def account_form(db: SessionDep, record: AdminForm, staff_id: str) -> StaffUser:
    """The account ``staff_id`` of the path, for a form of an admin who may change it."""
    user = staff_accounts.manageable_account(db, record.staff, staff_id, visible_school_ids(record))
    if user is None:
        raise StaffForbidden()
    return user


AccountForm = Annotated[StaffUser, Depends(account_form)]


def device_form(db: SessionDep, record: AdminForm, device_id: str) -> Device:
    """The device ``device_id`` of the path, for a form of an admin of its school."""
    device = devices.find_device(db, device_id, visible_school_ids(record))
    if device is None:
        raise StaffForbidden()
    return device


DeviceForm = Annotated[Device, Depends(device_form)]


def enrol_link_form(db: SessionDep, record: AdminForm, link_id: str) -> EnrolLink:
    """The cart enrolment link ``link_id`` of the path, for a form of an admin of its school."""
    link = enrol_links.find_link(db, link_id, visible_school_ids(record))
    if link is None:
        raise StaffForbidden()
    return link


EnrolLinkForm = Annotated[EnrolLink, Depends(enrol_link_form)]


def school_form(record: AdminForm, school_id: Annotated[str, Form()]) -> str:
    """The form's ``school_id``, if the admin manages that school."""
    scope = visible_school_ids(record)
    if scope is not None and school_id not in scope:
        raise StaffForbidden()
    return school_id


SchoolForm = Annotated[str, Depends(school_form)]


def qr_svg(text: str, scale: int = 4) -> str:
    """An inline SVG QR code (the XML prolog zxing-cpp writes does not belong inside HTML)."""
    svg = str(zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="H").to_svg(scale=scale))
    return svg[svg.index("<svg") :]


def actor(record: StaffSession) -> str:
    """How a staff member appears in the audit log."""
    return f"staff:{record.staff.username}"
