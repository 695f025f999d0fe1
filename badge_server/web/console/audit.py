"""Admin console: the audit log — filter by person, badge, device, kind and time; export CSV.
District admins only (rows span every school)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Select, select

from badge_server.errors import PolicyError
from badge_server.store.models import AuditEvent
from badge_server.web.console.access import CurrentDistrictAdmin
from badge_server.web.deps import SessionDep
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff/admin/audit")
PAGE_ROWS = 200
CSV_MAX_ROWS = 100_000
CSV_COLUMNS = ("at", "kind", "outcome", "actor", "person_id", "badge_id", "device_id", "source_ip", "detail")


def _when(value: str, field: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise PolicyError(
            f"{field}: {value[:30]!r} is not a date or date and time (2026-11-26 or 2026-11-26T08:00)"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class AuditFilter(BaseModel):
    """The log's filters, as query parameters of both the page and its CSV export."""

    person: str = Field("", max_length=255)
    badge: str = Field("", max_length=255)
    device: str = Field("", max_length=255)
    kind: str = Field("", max_length=255)
    outcome: str = Field("", max_length=255)
    start: str = Field("", max_length=255)
    end: str = Field("", max_length=255)


Filters = Annotated[AuditFilter, Query()]


def _query(filters: AuditFilter) -> Select[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    for column, value in (
        (AuditEvent.person_id, filters.person),
        (AuditEvent.badge_id, filters.badge),
        (AuditEvent.device_id, filters.device),
        (AuditEvent.kind, filters.kind),
        (AuditEvent.outcome, filters.outcome),
    ):
        if value.strip():
            query = query.where(column == value.strip())
    since, until = _when(filters.start, "from"), _when(filters.end, "to")
    if since:
        query = query.where(AuditEvent.at >= since)
    if until:
        query = query.where(AuditEvent.at <= until)
    return query


@router.get("", response_class=HTMLResponse)
def audit_log(request: Request, db: SessionDep, record: CurrentDistrictAdmin, filters: Filters) -> HTMLResponse:
    error = ""
    rows: list[AuditEvent] = []
    try:
        rows = list(db.scalars(_query(filters).limit(PAGE_ROWS)))
    except PolicyError as exc:
        error = str(exc)
    kinds = db.scalars(select(AuditEvent.kind).distinct().order_by(AuditEvent.kind)).all()
    return render_page(
        request,
        "audit.html",
        record,
        status=400 if error else 200,
        rows=rows,
        kinds=kinds,
        filters=filters,
        error=error,
        limit=PAGE_ROWS,
        query_string=request.url.query,
    )


def _csv_cell(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    # A cell starting with = + - @ is a formula to a spreadsheet; a value from the network
    # (a device name, a username) must not become one on an admin's computer.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get(".csv")
def audit_csv(db: SessionDep, record: CurrentDistrictAdmin, filters: Filters) -> Response:
    try:
        rows = db.scalars(_query(filters).limit(CSV_MAX_ROWS))
    except PolicyError as exc:
        return Response(str(exc), status_code=400, media_type="text/plain; charset=utf-8")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [row.at.isoformat()]
            + [_csv_cell(getattr(row, c) or "") for c in CSV_COLUMNS[1:-1]]
            + [_csv_cell(row.detail)]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
