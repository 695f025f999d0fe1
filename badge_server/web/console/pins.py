"""A teacher pins an app to the front of every dashboard in their class ("today we use
Starfall"), for today or until they unpin it; only apps the class can see, only their classes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server import classrooms, tiles
from badge_server.catalog import CatalogApp, apps_for, find_app
from badge_server.errors import StaffForbidden
from badge_server.runtime import Runtime
from badge_server.store.models import Person, SchoolClass
from badge_server.web.console.access import ClassForm, CurrentStaff, actor
from badge_server.web.deps import RuntimeDep, SessionDep

router = APIRouter(prefix="/staff")


def class_apps(db: Session, runtime: Runtime, school_class: SchoolClass) -> list[CatalogApp]:
    """The apps at least one student of the class sees, in catalog order."""
    ids = [row.id for row in classrooms.class_roster(db, school_class.id, runtime.settings)]
    seen: dict[str, CatalogApp] = {}
    for person in db.scalars(select(Person).where(Person.id.in_(ids))):
        for app in apps_for(db, person):
            seen.setdefault(app.id, app)
    return sorted(seen.values(), key=lambda app: (app.position, app.name))


@router.post("/classes/{class_id}/pins")
def pin(
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    school_class: ClassForm,
    app_id: Annotated[str, Form(max_length=64)],
    duration: Annotated[str, Form(pattern="^(today|until_unpinned)$")] = "today",
) -> RedirectResponse:
    app = find_app(db, app_id)
    if app is None or app.id not in {seen.id for seen in class_apps(db, runtime, school_class)}:
        raise StaffForbidden()  # an app this class cannot see: as if it did not exist
    tiles.pin_app(db, school_class.id, app, for_today=duration == "today", actor=actor(record))
    return RedirectResponse(f"/staff/classes/{school_class.id}", status_code=303)


@router.post("/classes/{class_id}/pins/{app_id}/unpin")
def unpin(db: SessionDep, record: CurrentStaff, school_class: ClassForm, app_id: str) -> RedirectResponse:
    tiles.unpin_app(db, school_class.id, app_id, actor=actor(record))
    return RedirectResponse(f"/staff/classes/{school_class.id}", status_code=303)
