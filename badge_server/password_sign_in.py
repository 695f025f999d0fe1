"""Signing a student in with a username and password, the fallback for a device without a camera.

Every step that touches the database is a short transaction of its own, and the argon2 work
(~50-170 ms of CPU on purpose) happens between them, never inside one: on SQLite a transaction
that writes holds the write lock, and a burst of password sign-ins must not stall the badge
exchanges of every kiosk. The checks are also capped per process (``Runtime.password_checks``)
and throttled per student and per address or device, with no permanent lock-out: a window ends
by itself.

A student who must choose their own password (grade 6+) proves the given one first and then gets
a claim: a short-lived token sealed with the server key, naming the person and the password it
proved. Choosing replaces that password, so a claim works once; it opens nothing else.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server import audit, student_passwords
from badge_server.clock import utcnow
from badge_server.errors import PasswordNotAccepted, RateLimited
from badge_server.keys import ServerKeys
from badge_server.ratelimit import Limit, enforce_limits
from badge_server.runtime import Runtime
from badge_server.sessions import NewSession, end_session, start_session
from badge_server.settings import Settings
from badge_server.store.account_models import StudentPassword
from badge_server.store.db import read_only_transaction, transaction
from badge_server.store.models import Person, SignInMethod, StudentSession

CLAIM_SECONDS = 10 * 60  # long enough to think of a password, short enough to forget about


@dataclass(frozen=True)
class Attempt:
    """One try at the password page: what was typed, and where from."""

    username: str
    password: str
    source_ip: str
    device_id: str | None = None  # a school scanner's (valid device cookie); None at home

    @property
    def normalised(self) -> str:
        return student_passwords.normalise_username(self.username)


@dataclass(frozen=True)
class PasswordChecked:
    """A password that matched: whose, the hash it matched (the write checks it is still the
    current one), and whether the student must now choose their own."""

    person_id: str
    password_hash: str
    must_choose: bool


def attempt_limits(settings: Settings, attempt: Attempt) -> list[Limit]:
    """Per username (whoever types it, from anywhere), and per household address; a school
    scanner is counted per device instead, as a whole school may share one address."""
    username = hashlib.sha256(attempt.normalised.encode()).hexdigest()[:32]
    limits = [Limit(f"password:{username}", settings.rate_password_per_student_per_minute)]
    if attempt.device_id:
        limits.append(Limit(f"device:{attempt.device_id}", settings.rate_per_device_per_minute))
    else:
        limits.append(Limit(f"home-ip:{attempt.source_ip}", settings.rate_home_per_address_per_minute))
    return limits


def check_password(runtime: Runtime, attempt: Attempt) -> PasswordChecked:
    """Count the attempt, read, verify outside any transaction, and audit a refusal.

    Raises :class:`RateLimited` or :class:`PasswordNotAccepted` (the same for an unknown
    username and a wrong password, in the same time).
    """
    try:
        enforce_limits(runtime.factory, attempt_limits(runtime.settings, attempt))
    except RateLimited:
        _audit_refusal(runtime, attempt, "throttled", None)
        raise
    with read_only_transaction(runtime.factory) as db:
        sign_in = student_passwords.load_sign_in(db, attempt.username)
    with runtime.password_checks:
        matched = student_passwords.verify(sign_in, attempt.password)
    if sign_in is None or not matched:
        _audit_refusal(runtime, attempt, "refused", sign_in.person_id if sign_in else None)
        raise PasswordNotAccepted()
    return PasswordChecked(sign_in.person_id, sign_in.password_hash, sign_in.must_choose)


def _audit_refusal(runtime: Runtime, attempt: Attempt, outcome: str, person_id: str | None) -> None:
    with transaction(runtime.factory) as db:
        audit.record(
            db,
            "password.sign_in",
            outcome,
            person_id=person_id,
            device_id=attempt.device_id,
            source_ip=attempt.source_ip,
            username=attempt.normalised[:64],
        )


def _current_student(db: Session, person_id: str, password_hash: str) -> Person:
    """The student, if still active and the password checked is still theirs (a teacher may have
    reset it, or a claim been used, since it was verified)."""
    person = db.get(Person, person_id)
    record = db.get(StudentPassword, person_id)
    if person is None or not person.active or record is None or record.password_hash != password_hash:
        raise PasswordNotAccepted()
    return person


def start_password_session(db: Session, settings: Settings, checked: PasswordChecked, attempt: Attempt) -> NewSession:
    """The identity session of a password sign-in: a school browser's on a scanner, else home."""
    person = _current_student(db, checked.person_id, checked.password_hash)
    audit.record(
        db,
        "password.sign_in",
        person_id=person.id,
        device_id=attempt.device_id,
        source_ip=attempt.source_ip,
        username=attempt.normalised[:64],
    )
    return start_session(
        db,
        settings,
        person,
        client="browser" if attempt.device_id else "home",
        device_id=attempt.device_id,
        method=SignInMethod.PASSWORD,
        source_ip=attempt.source_ip,
    )


def _hash_tag(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def seal_claim(keys: ServerKeys, checked: PasswordChecked) -> str:
    """A claim for choosing a password, good for :data:`CLAIM_SECONDS` and for this password only."""
    expires = (utcnow() + timedelta(seconds=CLAIM_SECONDS)).timestamp()
    text = json.dumps({"person": checked.person_id, "proved": _hash_tag(checked.password_hash), "until": expires})
    return keys.encrypt(text).decode("ascii")


def open_claim(db: Session, keys: ServerKeys, claim: str) -> Person | None:
    """The student a claim is for, while it is fresh and the password it proved is still theirs."""
    opened = keys.open_sealed(claim.encode("ascii", "replace"))
    if opened is None:
        return None
    try:
        fields = json.loads(opened)
        person_id, proved, until = str(fields["person"]), str(fields["proved"]), float(fields["until"])
    except (ValueError, KeyError, TypeError):
        return None
    if utcnow().timestamp() > until:
        return None
    person = db.get(Person, person_id)
    record = db.get(StudentPassword, person_id)
    if person is None or not person.active or record is None or _hash_tag(record.password_hash) != proved:
        return None
    return person


def end_password_sessions(db: Session, person_id: str, *, reason: str) -> list[StudentSession]:
    """End a student's open password sessions (a teacher's reset): the old password's sign-ins
    must not outlive it. Badge sessions are left alone; the badge did not change."""
    now = utcnow()
    open_sessions = db.scalars(
        select(StudentSession).where(
            StudentSession.person_id == person_id,
            StudentSession.method == SignInMethod.PASSWORD,
            StudentSession.ended_at.is_(None),
            StudentSession.expires_at > now,
        )
    ).all()
    ended: list[StudentSession] = []
    for record in open_sessions:
        ended.extend(end_session(db, record, reason=reason))
    return ended


def reset_password(
    db: Session, keys: ServerKeys, settings: Settings, person: Person, *, actor: str
) -> tuple[str, list[StudentSession]]:
    """A teacher's new password for a student, and the password sessions it ended (the caller
    tells their apps): whoever learnt the old one is signed out now, not at its idle time-out."""
    given = student_passwords.give_password(db, keys, settings, person, actor=actor)
    return given, end_password_sessions(db, person.id, reason="password_reset")
