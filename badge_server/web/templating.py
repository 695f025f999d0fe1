"""The one Jinja environment every page renders with, and the two ways a page is rendered.

Staff console pages live in ``templates/console/``, the pages a child sees in
``templates/student/``; both are sent with ``Cache-Control: no-store``, because on a shared
computer the back button must not show the last person's page from the cache.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from badge_server.store.models import StaffSession

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))


@pass_context
def _local_time(context: Context, moment: datetime | None, layout: str = "%H:%M") -> str:
    """A stored (UTC) time as the district's clock shows it (``BADGE_TIMEZONE``)."""
    if moment is None:
        return ""
    return moment.astimezone(context["request"].app.state.runtime.settings.zone).strftime(layout)


templates.env.filters["local"] = _local_time


def _no_store(response: HTMLResponse) -> HTMLResponse:
    response.headers["Cache-Control"] = "no-store"
    return response


def render_page(
    request: Request, name: str, record: StaffSession | None = None, status: int = 200, **values: Any
) -> HTMLResponse:
    """A staff console page (``templates/console/NAME``), with the signed-in staff member and CSRF token."""
    context = {
        "staff": record.staff if record and record.mfa_done else None,
        "csrf": record.csrf_token if record else values.pop("csrf", ""),
        **values,
    }
    return _no_store(templates.TemplateResponse(request, f"console/{name}", context, status_code=status))


def student_page(request: Request, name: str, status: int = 200, **values: object) -> HTMLResponse:
    """A page a child sees (``templates/student/NAME``)."""
    return _no_store(templates.TemplateResponse(request, f"student/{name}", values, status_code=status))
