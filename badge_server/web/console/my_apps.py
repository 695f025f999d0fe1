"""A staff member's own app dashboard: from the console ("My apps"), the same dashboard and the
same single sign-on as students, with the apps for their roster role and the console one click
away. Staff sign in with password + TOTP as always; this starts an identity session for the
roster person their account is linked to, which never outlives the console session: it expires
with it, and signing out of the console ends it."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRouter
from sqlalchemy.orm import Session

from badge_server import sessions
from badge_server.errors import SessionNotValid
from badge_server.store.models import Person, SignInMethod, StaffSession
from badge_server.web.console.access import CurrentStaff, StaffForm
from badge_server.web.deps import SESSION_COOKIE, ClientIP, RuntimeDep, SessionDep
from badge_server.web.session_cookie import set_session_cookie
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff")


@router.post("/my-apps")
def my_apps(
    request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentStaff, _form: StaffForm, ip: ClientIP
) -> Response:
    person = db.get(Person, record.staff.person_id) if record.staff.person_id else None
    if person is None or not person.active:
        message = (
            "Your account is not linked to a roster record, so there is no app dashboard for it yet. "
            "A district admin can link it (Staff)."
        )
        return render_page(request, "error.html", record, status=409, message=message)
    started = sessions.start_session(
        db, runtime.settings, person, client="staff", method=SignInMethod.STAFF, source_ip=ip
    )
    # Never longer than the console session it came from.
    started.record.expires_at = min(started.record.expires_at, record.expires_at)
    lifetime = int((started.record.expires_at - started.record.created_at).total_seconds())
    response = RedirectResponse("/dashboard", status_code=303)
    return set_session_cookie(request, response, started.token, max(lifetime, 1))


def end_staff_dashboard(request: Request, db: Session, record: StaffSession) -> None:
    """At console sign-out: end this browser's staff dashboard session of the same person."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return
    try:
        session = sessions.authenticate_session(db, token)
    except SessionNotValid:  # expired, ended or unknown: already over
        return
    if session.client == "staff" and session.person_id == record.staff.person_id:
        sessions.end_session(db, session, reason="logout")
