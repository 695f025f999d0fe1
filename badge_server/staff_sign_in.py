"""The password step of a staff sign-in, built so that a flood of logins cannot stall the kiosks.

argon2 costs ~50-170 ms of CPU on purpose. It runs outside any database transaction (on SQLite a
transaction that writes holds the one write lock, and every kiosk exchange waits for it), at most
``password_checks_at_once`` at a time per process, after a read that takes no write lock. Tries
are counted per address whatever the username (changing the made-up username does not dodge it)
and per address and username; a window ends by itself, so no one is locked out. Every refusal
is audited with the normalised username and the address, never the password.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.errors import RateLimited
from badge_server.ratelimit import Limit, enforce_limits
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.staff import SignInRefused, verify_staff_password
from badge_server.store.db import read_only_transaction, transaction
from badge_server.store.models import StaffUser

AUDIT_KIND = "staff.sign_in"


@dataclass(frozen=True)
class StaffAttempt:
    """One try at the staff login form."""

    username: str
    password: str
    source_ip: str

    @property
    def normalised(self) -> str:
        return self.username.strip().lower()[:64]


@dataclass(frozen=True)
class StaffPasswordChecked:
    """A password that matched: whose, and the hash it matched (the write checks it still is)."""

    staff_id: str
    password_hash: str


def login_limits(settings: Settings, attempt: StaffAttempt) -> list[Limit]:
    return [
        Limit(f"staff-login-address:{attempt.source_ip}", settings.rate_staff_login_per_address_per_minute),
        Limit(f"staff-login:{attempt.source_ip}:{attempt.normalised}", settings.rate_staff_login_per_user_per_minute),
    ]


def check_staff_password(runtime: Runtime, attempt: StaffAttempt) -> StaffPasswordChecked:
    """Count the try, read, verify outside any transaction, audit a refusal.

    Raises :class:`RateLimited` or :class:`SignInRefused` (the same for an unknown username, a
    wrong password and a disabled account, after the same work).
    """
    try:
        enforce_limits(runtime.factory, login_limits(runtime.settings, attempt))
    except RateLimited:
        audit_refusal(runtime, attempt.normalised, attempt.source_ip, "throttled")
        raise
    with read_only_transaction(runtime.factory) as db:
        user = db.scalars(select(StaffUser).where(StaffUser.username == attempt.normalised)).first()
        found = (user.id, user.password_hash, user.active) if user is not None else None
    with runtime.password_checks:
        matched = verify_staff_password(found[1] if found else None, attempt.password)
    if found is None or not matched or not found[2]:
        audit_refusal(runtime, attempt.normalised, attempt.source_ip, "refused")
        raise SignInRefused()
    return StaffPasswordChecked(found[0], found[1])


def checked_account(db: Session, checked: StaffPasswordChecked) -> StaffUser:
    """The account, in the request's own transaction, if it is still active and its password is
    still the one checked (an admin may have reset or disabled it meanwhile)."""
    user = db.get(StaffUser, checked.staff_id)
    if user is None or not user.active or user.password_hash != checked.password_hash:
        raise SignInRefused()
    return user


def audit_refusal(runtime: Runtime, username: str, source_ip: str, outcome: str, *, step: str = "password") -> None:
    """In a transaction of its own: a refused request writes nothing else."""
    with transaction(runtime.factory) as db:
        audit.record(db, AUDIT_KIND, outcome, source_ip=source_ip, username=username, step=step)
