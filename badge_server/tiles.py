"""The order of a person's dashboard tiles: their own arrangement, and the apps their teacher pinned.

A dashboard shows, in order: the apps pinned for one of the person's classes (a teacher's "today
we use Starfall"), then the apps in the order the person put them, then the rest in catalog order.
Apps the person hid are left out, unless pinned. The arrangement is kept on the server per person,
so it follows them from the classroom Chromebook to the kiosk to home.

A pin lasts until the teacher unpins it, or "for today": until the next midnight UTC (the server
keeps no school time zone yet; issue 17 brings the district's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.clock import utcnow
from badge_server.errors import PolicyError
from badge_server.store.account_models import ClassPin, TileArrangement
from badge_server.store.db import Executor
from badge_server.store.driver import DriverStatement
from badge_server.store.models import App, Enrollment, RosterRole

MAX_TILES = 200  # more ids than any catalog holds is a broken or hostile client


# Built once, with bound parameters: every dashboard reads it, and building a statement of this
# shape cost more than running it (benchmarks/README.md, issue 16).
_PINNED_NOW = DriverStatement(
    select(ClassPin.app_id)
    .where(
        ClassPin.class_id.in_(
            select(Enrollment.class_id).where(
                Enrollment.person_id == bindparam("person_id"),
                Enrollment.role == RosterRole.STUDENT,
                Enrollment.active.is_(True),
            )
        ),
        or_(ClassPin.until.is_(None), ClassPin.until > bindparam("now")),
    )
    .order_by(ClassPin.pinned_at)
)


def pinned_app_ids(db: Executor, person_id: str, now: datetime | None = None) -> list[str]:
    """Apps pinned now for any class the person is a student in, oldest pin first."""
    pinned = _PINNED_NOW.rows(db, {"person_id": person_id, "now": now or utcnow()})
    return list(dict.fromkeys(row.app_id for row in pinned))


class Tile(Protocol):
    @property
    def id(self) -> str: ...


AnyTile = TypeVar("AnyTile", bound=Tile)


@dataclass(frozen=True)
class Arrangement:
    """A person's own order of their tiles, and the ones they hid."""

    order: list[str]
    hidden: list[str]


_ARRANGEMENT = DriverStatement(
    select(TileArrangement.order, TileArrangement.hidden).where(TileArrangement.person_id == bindparam("person_id"))
)


def arrange(apps: Sequence[AnyTile], arrangement: Arrangement | None, pinned: Sequence[str]) -> list[AnyTile]:
    """The dashboard's tiles in order: pinned, then the person's order, then the rest; hidden out."""
    by_id = {app.id: app for app in apps}
    order = arrangement.order if arrangement else []
    hidden = set(arrangement.hidden if arrangement else [])
    ranked = [*pinned, *order, *(app.id for app in apps)]
    shown = [by_id[i] for i in dict.fromkeys(ranked) if i in by_id and (i in pinned or i not in hidden)]
    return shown


def arrangement_of(db: Executor, person_id: str) -> Arrangement | None:
    row = _ARRANGEMENT.first(db, {"person_id": person_id})
    return Arrangement(row.order, row.hidden) if row is not None else None


def save_arrangement(
    db: Session, person_id: str, order: list[str], hidden: list[str], allowed: Sequence[Tile]
) -> TileArrangement:
    """Keep a person's order and hidden apps; ids not on their dashboard are refused by name."""
    if len(order) > MAX_TILES or len(hidden) > MAX_TILES:
        raise PolicyError(f"at most {MAX_TILES} tiles")
    known = {app.id for app in allowed}
    unknown = sorted({*order, *hidden} - known)
    if unknown:
        raise PolicyError(f"not apps on this dashboard: {', '.join(unknown)}")
    record = db.get(TileArrangement, person_id)
    if record is None:
        record = TileArrangement(person_id=person_id)
        db.add(record)
    record.order, record.hidden = list(dict.fromkeys(order)), sorted(set(hidden))
    record.updated_at = utcnow()
    return record


def end_of_today(now: datetime | None = None) -> datetime:
    now = now or utcnow()
    return datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=now.tzinfo)


def pin_app(db: Session, class_id: str, app: App, *, for_today: bool, actor: str) -> ClassPin:
    """Pin ``app`` to the front of every dashboard in the class (again: the new duration wins)."""
    pin = db.scalars(select(ClassPin).where(ClassPin.class_id == class_id, ClassPin.app_id == app.id)).first()
    if pin is None:
        pin = ClassPin(class_id=class_id, app_id=app.id)
        db.add(pin)
    pin.pinned_by, pin.pinned_at = actor, utcnow()
    pin.until = end_of_today() if for_today else None
    audit.record(db, "tiles.pin", actor=actor, class_id=class_id, app_id=app.id, for_today=for_today)
    return pin


def unpin_app(db: Session, class_id: str, app_id: str, *, actor: str) -> None:
    for pin in db.scalars(select(ClassPin).where(ClassPin.class_id == class_id, ClassPin.app_id == app_id)):
        db.delete(pin)
    audit.record(db, "tiles.unpin", actor=actor, class_id=class_id, app_id=app_id)


def class_pins(db: Session, class_id: str) -> list[ClassPin]:
    """The class's pins still in force."""
    now = utcnow()
    return list(
        db.scalars(
            select(ClassPin)
            .where(ClassPin.class_id == class_id, or_(ClassPin.until.is_(None), ClassPin.until > now))
            .order_by(ClassPin.pinned_at)
        )
    )
