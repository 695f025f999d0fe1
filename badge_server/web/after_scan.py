"""``GET /sso/continue``: right after a badge scan, an app's waiting sign-in goes on.

The scan's launch link sets the student session and, when the browser holds a waiting
request's reference (``sso.pending``), redirects here instead of to the dashboard. Each
protocol's pages module answers the stored request as if it had just arrived with a session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from badge_server.clock import utcnow
from badge_server.runtime import Runtime
from badge_server.sso.pending import PENDING_COOKIE, find_pending, finish_pending
from badge_server.store.models import StudentSession
from badge_server.web.deps import BrowserStudent, RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)

#: protocol -> how its pages answer a stored request for a signed-in student.
Resume = Callable[[Request, Session, Runtime, StudentSession, dict[str, Any]], Response]
RESUME_AFTER_SCAN: dict[str, Resume] = {}


@router.get("/sso/continue")
def continue_after_scan(request: Request, student: BrowserStudent, db: SessionDep, runtime: RuntimeDep) -> Response:
    now = utcnow()
    pending = find_pending(db, request.cookies.get(PENDING_COOKIE), now)
    if student is None:
        return RedirectResponse("/scan", status_code=303)
    if pending is None or pending.protocol not in RESUME_AFTER_SCAN:
        # Waited too long, or answered already (a reload): the child still gets their apps.
        response: Response = RedirectResponse("/dashboard", status_code=303)
    else:
        finish_pending(pending, now)
        response = RESUME_AFTER_SCAN[pending.protocol](request, db, runtime, student, pending.parameters)
    response.delete_cookie(PENDING_COOKIE, path="/")
    return response
