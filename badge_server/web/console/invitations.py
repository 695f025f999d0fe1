"""Staff invitations in the console: an admin makes accounts for the roster's teachers and school
administrators in one go and prints their links (with a QR code each); a new staff member opens
theirs and sets their own password; anyone signed in changes their own password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from badge_server import staff_invitations
from badge_server.contract.words import N_
from badge_server.errors import InvitationNotAccepted, PolicyError
from badge_server.ratelimit import Limit, enforce_limits
from badge_server.staff import set_password, verify_staff_password
from badge_server.web.console.access import AdminForm, CurrentStaff, StaffForm, actor, qr_svg, visible_school_ids
from badge_server.web.deps import ClientIP, RuntimeDep, SessionDep, public_base_url
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff")
Password = Annotated[str, Form(max_length=1024)]
# What a wrong link looks like: unknown is "nothing here"; used or expired is "gone".
STATUS = {"unknown": 404, "used": 410, "expired": 410, "disabled": 410}


@router.post("/admin/staff/invite-roster", response_class=HTMLResponse)
def invite_roster(request: Request, db: SessionDep, runtime: RuntimeDep, record: AdminForm) -> HTMLResponse:
    invited = staff_invitations.invite_from_roster(db, visible_school_ids(record), actor=actor(record))
    base = public_base_url(request, runtime.settings)
    links = [(invitation, f"{base}/staff/invite/{invitation.token}") for invitation in invited]
    return render_page(
        request,
        "invitations.html",
        record,
        links=[(invitation, url, qr_svg(url, scale=3)) for invitation, url in links],
        days=staff_invitations.INVITATION_DAYS,
    )


@router.get("/invite/{token}", response_class=HTMLResponse)
def invitation_page(token: str, request: Request, db: SessionDep) -> HTMLResponse:
    try:
        staff_invitations.open_invitation(db, token)
    except InvitationNotAccepted as exc:
        return render_page(request, "invitation.html", status=STATUS[exc.reason], refused=str(exc))
    return render_page(request, "invitation.html", token=token)


@router.post("/invite/{token}", response_class=HTMLResponse)
def accept_invitation(
    token: str,
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    ip: ClientIP,
    password: Password,
    confirm: Password,
) -> HTMLResponse:
    # No session yet: the link's secret is the credential (and what stops another site posting
    # this form). Counted per address like sign-in tries: each try costs an argon2 hash.
    enforce_limits(
        runtime.factory, [Limit(f"staff-login-address:{ip}", runtime.settings.rate_staff_login_per_address_per_minute)]
    )
    try:
        user = staff_invitations.accept(db, token, password, confirm)
    except InvitationNotAccepted as exc:
        return render_page(request, "invitation.html", status=STATUS[exc.reason], refused=str(exc))
    except PolicyError as exc:
        return render_page(request, "invitation.html", status=400, token=token, error=str(exc))
    return render_page(request, "invitation.html", done=user.username)


@router.get("/account/password", response_class=HTMLResponse)
def own_password_page(request: Request, record: CurrentStaff) -> HTMLResponse:
    return render_page(request, "own_password.html", record)


@router.post("/account/password", response_class=HTMLResponse)
def change_own_password(
    request: Request, db: SessionDep, record: StaffForm, current: Password, password: Password, confirm: Password
) -> HTMLResponse:
    error = ""
    if not verify_staff_password(record.staff.password_hash, current):
        error = N_("Your current password is not right.")
    elif password != confirm:
        error = N_("The two new passwords are not the same.")
    else:
        try:
            set_password(db, record.staff, password, actor=record.staff.username)
        except PolicyError as exc:
            error = str(exc).capitalize() + "."
    if error:
        return render_page(request, "own_password.html", record, status=400, error=error)
    # set_password ended every session of the account, this one too: sign in with the new one.
    return render_page(request, "own_password.html", None, done=True)
