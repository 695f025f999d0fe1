"""Admin console: the audit log — filter by person, badge, device, kind and time; export CSV.
District admins only (rows span every school)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from badge_server import audit
from badge_server.audit import AuditFilter
from badge_server.errors import PolicyError
from badge_server.store.models import AuditEvent
from badge_server.web.console.access import CurrentDistrictAdmin
from badge_server.web.console.csv_export import csv_download
from badge_server.web.deps import RuntimeDep, SessionDep
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff/admin/audit")
PAGE_ROWS = 200
CSV_MAX_ROWS = 100_000
CSV_COLUMNS = ("at", "kind", "outcome", "actor", "person_id", "badge_id", "device_id", "source_ip", "detail")
# The same filters for the page and its CSV export, as query parameters.
Filters = Annotated[AuditFilter, Query()]


@router.get("", response_class=HTMLResponse)
def audit_log(
    request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentDistrictAdmin, filters: Filters
) -> HTMLResponse:
    error = ""
    rows: list[AuditEvent] = []
    try:
        rows = audit.find_events(db, filters, PAGE_ROWS, runtime.settings.zone)
    except PolicyError as exc:
        error = str(exc)
    return render_page(
        request,
        "audit.html",
        record,
        status=400 if error else 200,
        rows=rows,
        kinds=audit.event_kinds(db),
        filters=filters,
        error=error,
        limit=PAGE_ROWS,
        query_string=request.url.query,
        zone=runtime.settings.timezone,
    )


@router.get(".csv")
def audit_csv(db: SessionDep, runtime: RuntimeDep, record: CurrentDistrictAdmin, filters: Filters) -> Response:
    zone = runtime.settings.zone
    try:
        rows = audit.find_events(db, filters, CSV_MAX_ROWS, zone)
    except PolicyError as exc:
        return Response(str(exc), status_code=400, media_type="text/plain; charset=utf-8")
    return csv_download(
        "audit.csv",
        CSV_COLUMNS,
        (
            [row.at.astimezone(zone).isoformat(), *(getattr(row, c) or "" for c in CSV_COLUMNS[1:-1]), row.detail]
            for row in rows
        ),
    )
