"""Badge policy per school, as admins set it: how long new badges last, which grades also type
their PIN at a school scanner, how long a temporary code lasts. A district admin sets the
district's and any school's; a school admin only their own school's. "As the district" inherits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from badge_server import badge_policy
from badge_server.badge_policy import ALL_GRADES
from badge_server.errors import PolicyError, StaffForbidden
from badge_server.runtime import Runtime
from badge_server.store.account_models import SignInPolicy
from badge_server.store.models import StaffSession
from badge_server.web.console.access import AdminForm, CurrentAdmin, actor, policy_orgs
from badge_server.web.deps import RuntimeDep, SessionDep
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff/admin")
PAGE = "/staff/admin/badge-policy"
Mode = Annotated[str, Form(pattern="^(inherit|set)$")]


def _page(
    request: Request, db: Session, runtime: Runtime, record: StaffSession, *, error: str = "", status: int = 200
) -> HTMLResponse:
    rows = []
    for org in policy_orgs(db, record):
        own = db.get(SignInPolicy, org.id)
        effective = badge_policy.badge_policy_for(db, runtime.settings, org.id if org.type == "school" else None)
        rows.append((org, own, effective))
    return render_page(
        request,
        "badge_policy.html",
        record,
        status=status,
        rows=rows,
        grades=ALL_GRADES,
        max_hours=runtime.settings.temp_code_max_hours,
        max_days=badge_policy.MAX_EXPIRY_DAYS,
        error=error,
    )


@router.get("/badge-policy", response_class=HTMLResponse)
def badge_policy_page(request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentAdmin) -> HTMLResponse:
    return _page(request, db, runtime, record)


def _number(mode: str, typed: str, what: str) -> float | None:
    if mode == "inherit":
        return None
    try:
        return float(typed.strip())
    except ValueError:
        raise PolicyError(f"{what}: {typed.strip()[:20]!r} is not a number") from None


@router.post("/badge-policy/{org_id}")
def set_badge_policy(
    org_id: str,
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    record: AdminForm,
    expiry_mode: Mode = "inherit",
    expiry_days: Annotated[str, Form(max_length=20)] = "",
    pin_mode: Mode = "inherit",
    pin_grades: Annotated[list[str] | None, Form()] = None,
    hours_mode: Mode = "inherit",
    temp_code_hours: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    if org_id not in {org.id for org in policy_orgs(db, record)}:
        raise StaffForbidden()  # another school's policy: 404, like a page that does not exist
    try:
        days = _number(expiry_mode, expiry_days, "badge lifetime")
        if days is not None and not days.is_integer():
            raise PolicyError(f"badge lifetime: {expiry_days.strip()} is not a whole number of days")
        badge_policy.set_badge_policy(
            db,
            runtime.settings,
            org_id,
            expiry_days=None if days is None else int(days),
            pin_grades=None if pin_mode == "inherit" else [g for g in ALL_GRADES if g in (pin_grades or [])],
            temp_code_hours=_number(hours_mode, temp_code_hours, "temporary code"),
            actor=actor(record),
        )
    except PolicyError as exc:
        return _page(request, db, runtime, record, error=str(exc), status=400)
    return RedirectResponse(PAGE, status_code=303)
