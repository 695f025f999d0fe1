"""Today, as staff see it: a class's day for its teacher (who signed in, whose sign-in failed and
why, who has not signed in for a week, which apps were opened), and the same counted per school
(district admins) or per class (school admins), with totals and a CSV."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from badge_server import class_day, classrooms
from badge_server.web.console.access import CurrentAdmin, CurrentStaff, VisibleClass, visible_school_ids
from badge_server.web.console.csv_export import csv_download
from badge_server.web.deps import RuntimeDep, SessionDep
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff")


@router.get("/classes/{class_id}/today", response_class=HTMLResponse)
def class_today(
    request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentStaff, school_class: VisibleClass
) -> HTMLResponse:
    names = {row.id: row.name for row in classrooms.class_roster(db, school_class.id, runtime.settings)}
    day = class_day.class_day(db, runtime.settings, names)
    return render_page(request, "class_day.html", record, school_class=school_class, day=day)


@router.get("/admin/today", response_class=HTMLResponse)
def scope_today(request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentAdmin) -> HTMLResponse:
    day = class_day.scope_day(db, runtime.settings, visible_school_ids(record))
    return render_page(request, "scope_day.html", record, day=day, zone=runtime.settings.timezone)


@router.get("/admin/today.csv")
def scope_today_csv(db: SessionDep, runtime: RuntimeDep, record: CurrentAdmin) -> Response:
    day = class_day.scope_day(db, runtime.settings, visible_school_ids(record))
    return csv_download(
        f"sign-ins-{day.day.isoformat()}.csv", ("day", day.by, *class_day.DAY_COLUMNS), class_day.day_rows(day)
    )
