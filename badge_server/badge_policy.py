"""Badge policy per school: how long a new badge lasts, which grades also type their PIN at a
school scanner, and how long a teacher's temporary code lasts.

A school's :class:`SignInPolicy` row overrides its district's (the school org's parent); a field
left None inherits: the district's row, else the server's settings (``BADGE_BADGE_EXPIRY_DAYS``,
``BADGE_PIN_REQUIRED_GRADES``, ``BADGE_TEMP_CODE_DEFAULT_HOURS``). Home sign-in
(home_sign_in.py) keeps its own fields in the same rows and inherits the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.clock import utcnow
from badge_server.errors import PolicyError
from badge_server.settings import DEFAULT_BADGE_GRADES, Settings
from badge_server.store.account_models import SignInPolicy
from badge_server.store.models import Org

MAX_EXPIRY_DAYS = 3650
#: The grades a policy form offers: those with badges by default, then the older ones.
ALL_GRADES = (*DEFAULT_BADGE_GRADES, "06", "07", "08", "09", "10", "11", "12")


@dataclass(frozen=True)
class BadgePolicy:
    """The badge policy as it applies to one school."""

    expiry_days: int
    pin_grades: tuple[str, ...]
    temp_code_hours: float

    def needs_pin(self, grade: str | None) -> bool:
        """Whether a student of this grade also types their PIN at a school scanner (once set)."""
        return (grade or "") in self.pin_grades


def policy_rows(db: Session, school_id: str | None) -> list[SignInPolicy]:
    """The rows that decide a school's policy, nearest first: the school's own, its district's."""
    school = db.get(Org, school_id) if school_id else None
    org_ids = (school_id, school.parent_id if school else None)
    rows = [db.get(SignInPolicy, org_id) for org_id in org_ids if org_id]
    return [row for row in rows if row is not None]


def inherited(rows: Sequence[SignInPolicy], field: str, default: Any) -> Any:
    """The nearest row's value of ``field`` that is set, else ``default`` (the server's setting)."""
    return next((value for row in rows if (value := getattr(row, field)) is not None), default)


def badge_policy_for(db: Session, settings: Settings, school_id: str | None) -> BadgePolicy:
    rows = policy_rows(db, school_id)
    return BadgePolicy(
        expiry_days=int(inherited(rows, "badge_expiry_days", settings.badge_expiry_days)),
        pin_grades=tuple(inherited(rows, "pin_grades", settings.pin_required_grades)),
        temp_code_hours=float(inherited(rows, "temp_code_hours", settings.temp_code_default_hours)),
    )


class PolicyCache:
    """Policies by school for one unit of work that touches many students (a roster's new badges):
    two look-ups per school, not per student."""

    def __init__(self, db: Session, settings: Settings) -> None:
        self._db, self._settings = db, settings
        self._found: dict[str | None, BadgePolicy] = {}

    def of(self, school_id: str | None) -> BadgePolicy:
        if school_id not in self._found:
            self._found[school_id] = badge_policy_for(self._db, self._settings, school_id)
        return self._found[school_id]


def policy_row(db: Session, org_id: str, *, actor: str) -> SignInPolicy:
    """The org's own row to change (made if it has none yet), stamped with who changes it and when;
    refused for an org that is not an open one."""
    org = db.get(Org, org_id)
    if org is None or not org.active:
        raise PolicyError(f"no active district or school with id {org_id!r}")
    row = db.get(SignInPolicy, org_id)
    if row is None:
        row = SignInPolicy(org_id=org_id)
        db.add(row)
    row.updated_at, row.updated_by = utcnow(), actor
    return row


def set_badge_policy(
    db: Session,
    settings: Settings,
    org_id: str,
    *,
    expiry_days: int | None,
    pin_grades: Collection[str] | None,
    temp_code_hours: float | None,
    actor: str,
) -> SignInPolicy:
    """Set a district's or school's badge policy (None: inherit); checked, then audited.

    A new lifetime applies to badges issued from now on; printed badges keep the date they carry."""
    if expiry_days is not None and not 1 <= expiry_days <= MAX_EXPIRY_DAYS:
        raise PolicyError(f"badge lifetime: {expiry_days} days is not between 1 and {MAX_EXPIRY_DAYS}")
    if temp_code_hours is not None and not 0 < temp_code_hours <= settings.temp_code_max_hours:
        raise PolicyError(
            f"temporary code: {temp_code_hours:g} hours is not more than 0 and at most "
            f"{settings.temp_code_max_hours:g} (BADGE_TEMP_CODE_MAX_HOURS)"
        )
    row = policy_row(db, org_id, actor=actor)
    row.badge_expiry_days, row.temp_code_hours = expiry_days, temp_code_hours
    row.pin_grades = None if pin_grades is None else list(pin_grades)
    audit.record(
        db,
        "policy.badges",
        actor=actor,
        org_id=org_id,
        badge_expiry_days=expiry_days,
        pin_grades=row.pin_grades,
        temp_code_hours=temp_code_hours,
    )
    return row
