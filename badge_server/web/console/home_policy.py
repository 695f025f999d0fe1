"""Badges at home, as admins set it: a district admin sets the district's policy and any school's
override; a school admin only their own school's. Each field left on "as the district" inherits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from badge_server import home_sign_in
from badge_server.badge_policy import ALL_GRADES
from badge_server.errors import StaffForbidden
from badge_server.store.account_models import SignInPolicy
from badge_server.web.console.access import AdminForm, CurrentAdmin, actor, policy_orgs
from badge_server.web.deps import RuntimeDep, SessionDep
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff/admin")
PAGE = "/staff/admin/home-sign-in"


@router.get("/home-sign-in", response_class=HTMLResponse)
def home_policy_page(request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentAdmin) -> HTMLResponse:
    rows = []
    for org in policy_orgs(db, record):
        own = db.get(SignInPolicy, org.id)
        effective = home_sign_in.policy_for(db, runtime.settings, org.id if org.type == "school" else None)
        rows.append((org, own, effective))
    return render_page(request, "home_policy.html", record, rows=rows, grades=ALL_GRADES)


@router.post("/home-sign-in/{org_id}")
def set_home_policy(
    org_id: str,
    db: SessionDep,
    record: AdminForm,
    allowed: Annotated[str, Form(pattern="^(inherit|on|off)$")] = "inherit",
    grades_mode: Annotated[str, Form(pattern="^(inherit|set)$")] = "inherit",
    grades: Annotated[list[str] | None, Form()] = None,
    pin_mode: Annotated[str, Form(pattern="^(inherit|set)$")] = "inherit",
    pin_grades: Annotated[list[str] | None, Form()] = None,
) -> Response:
    if org_id not in {org.id for org in policy_orgs(db, record)}:
        raise StaffForbidden()  # another school's policy: 404, like a page that does not exist
    home_sign_in.set_policy(
        db,
        org_id,
        home_sign_in=None if allowed == "inherit" else allowed == "on",
        home_grades=None if grades_mode == "inherit" else [g for g in ALL_GRADES if g in (grades or [])],
        home_pin_grades=None if pin_mode == "inherit" else [g for g in ALL_GRADES if g in (pin_grades or [])],
        actor=actor(record),
    )
    return RedirectResponse(PAGE, status_code=303)
