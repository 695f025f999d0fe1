"""Staff accounts for the web console: argon2 passwords, TOTP second factor, recovery codes,
browser sessions. Badges never sign staff in."""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.clock import utcnow
from badge_server.errors import NotFoundError, PolicyError
from badge_server.keys import ServerKeys, token_digest
from badge_server.store.models import Org, Person, RosterRole, StaffRole, StaffSession, StaffUser

SESSION_HOURS = 10
RECOVERY_CODES = 8
RECOVERY_CODE_BYTES = 13  # 104 random bits, of which a code keeps 100 (20 base32 characters)
PAUSE_AFTER_WRONG_CODES = 5  # wrong second-factor codes in a row, across sign-ins
MAX_PAUSE_MINUTES = 60
_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the time the same either way.
_DUMMY_HASH = _hasher.hash("not a real password")


class SignInRefused(PolicyError):
    """Raised for a wrong username, password or code; one message for all, so nothing is revealed."""

    def __init__(self) -> None:
        super().__init__("That username, password or code is not right.")


class CodesPaused(SignInRefused):
    """Raised when an account's second-factor codes are paused after too many wrong ones."""

    def __init__(self, until: datetime) -> None:
        PolicyError.__init__(self, "Too many wrong codes for this account. Try again later, or ask an admin.")
        self.until = until


@dataclass(frozen=True)
class NewStaffSession:
    token: str
    record: StaffSession


def needs_second_factor(user: StaffUser, *, teachers_too: bool = False) -> bool:
    """Admins always; teachers once they have set TOTP up, or always where the district says so."""
    return user.role != StaffRole.TEACHER or user.totp_enabled or teachers_too


def create_staff(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    actor: str,
    person_id: str | None = None,
    school_id: str | None = None,
    hashed: str | None = None,
) -> StaffUser:
    username = username.strip().lower()
    if role not in set(StaffRole):
        raise PolicyError(f"role must be one of {', '.join(StaffRole)}")
    _check_password_rules(username, password)
    if session.scalars(select(StaffUser).where(StaffUser.username == username)).first() is not None:
        raise PolicyError(f"the username {username!r} is taken")
    if role == StaffRole.TEACHER:
        teacher = session.get(Person, person_id or "")
        if teacher is None or teacher.role != RosterRole.TEACHER:
            raise NotFoundError(f"a teacher account needs the roster teacher's sourcedId; {person_id!r} is not one")
    if role == StaffRole.SCHOOL_ADMIN and session.get(Org, school_id or "") is None:
        raise NotFoundError(f"a school admin account needs a school; {school_id!r} is not one")
    user = StaffUser(
        username=username,
        password_hash=hashed or _hasher.hash(password),
        role=role,
        # A teacher's school is their roster record's; only a school admin has a school of its own
        # (an admin's roster record, if any, only gives them "My apps"; it never scopes them).
        person_id=person_id,
        school_id=school_id if role == StaffRole.SCHOOL_ADMIN else None,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    audit.record(session, "staff.create", actor=actor, username=username, role=role)
    return user


def create_invited(
    session: Session, username: str, role: str, *, actor: str, person_id: str | None, school_id: str | None
) -> StaffUser:
    """An account whose owner sets the password through an invitation (staff_invitations.py):
    until then no password signs in to it."""
    # A random placeholder that is not an argon2 hash: verification refuses every password.
    return create_staff(
        session,
        username,
        secrets.token_urlsafe(24),
        role,
        actor=actor,
        person_id=person_id,
        school_id=school_id,
        hashed=f"invited:{secrets.token_hex(8)}",
    )


def _end_open_sessions(session: Session, user: StaffUser) -> None:
    for open_session in session.scalars(
        select(StaffSession).where(StaffSession.staff_id == user.id, StaffSession.ended_at.is_(None))
    ):
        open_session.ended_at = utcnow()


def _check_password_rules(username: str, password: str) -> None:
    if len(password) < 12 or username in password.lower():
        raise PolicyError("a password needs at least 12 characters and must not contain the username")


def set_password(session: Session, user: StaffUser, password: str, *, actor: str) -> None:
    """A new password (a reset by an admin); every open session of the account ends."""
    _check_password_rules(user.username, password)
    user.password_hash = _hasher.hash(password)
    _end_open_sessions(session, user)
    audit.record(session, "staff.password", actor=actor, username=user.username)


def verify_staff_password(password_hash: str | None, password: str) -> bool:
    """argon2: never call this inside a database transaction (staff_sign_in.py says why). No
    account is checked against a dummy hash, so the answer takes the same time either way."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def start_session(
    session: Session,
    user: StaffUser,
    *,
    source_ip: str | None,
    teachers_need_mfa: bool = False,
    step: str = "password",
    second_factor_done: bool = False,
) -> NewStaffSession:
    """A session after the first step (``step``: a password, or the district's own sign-in, whose
    provider may vouch for the second factor too)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    record = StaffSession(
        token_digest=token_digest(token),
        staff_id=user.id,
        csrf_token=secrets.token_urlsafe(24),
        mfa_done=second_factor_done or not needs_second_factor(user, teachers_too=teachers_need_mfa),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=SESSION_HOURS),
    )
    session.add(record)
    session.flush()
    audit.record(session, "staff.sign_in", actor=user.username, source_ip=source_ip, step=step)
    return NewStaffSession(token, record)


def find_session(session: Session, token: str, *, touch: bool = True) -> StaffSession | None:
    """The open session of this token; ``touch`` records it as seen now (a write)."""
    record = session.scalars(select(StaffSession).where(StaffSession.token_digest == token_digest(token))).first()
    if record is None or record.ended_at is not None or record.expires_at <= utcnow() or not record.staff.active:
        return None
    if touch:
        record.last_seen_at = utcnow()
    return record


def begin_totp_setup(user: StaffUser, keys: ServerKeys) -> str:
    """The pending TOTP secret (kept encrypted), made on first use; not in force until confirmed.

    Reloading the set-up page shows the same secret: one already scanned into a phone must
    still be the one that is confirmed.
    """
    if user.totp_secret_encrypted is not None and not user.totp_enabled:
        return keys.decrypt(user.totp_secret_encrypted)
    secret = pyotp.random_base32()
    user.totp_secret_encrypted = keys.encrypt(secret)
    user.totp_enabled = False
    return secret


def totp_uri(user: StaffUser, keys: ServerKeys, issuer: str) -> str:
    assert user.totp_secret_encrypted is not None
    return pyotp.TOTP(keys.decrypt(user.totp_secret_encrypted)).provisioning_uri(name=user.username, issuer_name=issuer)


def _totp_step(user: StaffUser, keys: ServerKeys, secret_encrypted: bytes | None, code: str) -> int | None:
    """The time step whose code this is (now, or one step either side for a slow typist), if it
    was not used before: RFC 6238 section 5.2, a code is accepted once even within its window."""
    if secret_encrypted is None or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(keys.decrypt(secret_encrypted))
    now = utcnow()
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        # Constant-time comparison: the time taken must not tell how many digits were right.
        if hmac.compare_digest(totp.generate_otp(step), code) and step > (user.last_totp_step or -1):
            return step
    return None


def _new_recovery_codes(user: StaffUser, keys: ServerKeys) -> list[str]:
    # 20 base32 characters: 100 bits each (guessing is hopeless even offline), stored as an HMAC
    # under the server key, so a copy of the database alone cannot test guesses either.
    codes = []
    for _ in range(RECOVERY_CODES):
        text = base64.b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode("ascii").lower()[:20]
        codes.append("-".join(text[i : i + 5] for i in range(0, 20, 5)))
    user.recovery_code_digests = [keys.secret_digest(_normalised_recovery_code(c)) for c in codes]
    return codes


def _normalised_recovery_code(code: str) -> str:
    return "".join(c for c in code.lower() if c.isascii() and c.isalnum())


def confirm_totp_setup(session: Session, user: StaffUser, keys: ServerKeys, code: str) -> list[str]:
    """Turn TOTP on once a code from the new secret checks out; return recovery codes (shown once)."""
    step = _totp_step(user, keys, user.totp_secret_encrypted, code.strip())
    if step is None:
        raise SignInRefused()
    user.last_totp_step = step
    codes = _new_recovery_codes(user, keys)
    user.totp_enabled = True
    audit.record(session, "staff.totp_enabled", actor=user.username)
    return codes


def pass_second_factor(session: Session, record: StaffSession, keys: ServerKeys, code: str) -> None:
    """A TOTP code (each once), or one of the recovery codes (each once).

    Wrong codes are counted per account, not per sign-in: a new password sign-in does not start
    the count again. From the ``PAUSE_AFTER_WRONG_CODES``-th wrong code in a row, codes are not
    even checked for a while, twice as long each time (:class:`CodesPaused`); a right code ends it.
    """
    user = record.staff
    now = utcnow()
    if user.codes_paused_until is not None and user.codes_paused_until > now:
        raise CodesPaused(user.codes_paused_until)
    code = code.strip().lower()
    if user.totp_enabled and user.totp_secret_encrypted is not None:
        step = _totp_step(user, keys, user.totp_secret_encrypted, code)
        if step is not None:
            user.last_totp_step = step
            _passed(session, record, step="totp")
            return
        digest = keys.secret_digest(_normalised_recovery_code(code))
        legacy = token_digest(code)  # codes issued before issue 15 (48 bits, plain SHA-256)
        for stored in (digest, legacy):
            if stored in user.recovery_code_digests:
                user.recovery_code_digests = [d for d in user.recovery_code_digests if d != stored]
                _passed(session, record, step="recovery_code", recovery_codes_left=len(user.recovery_code_digests))
                return
    user.wrong_codes += 1
    if user.wrong_codes >= PAUSE_AFTER_WRONG_CODES:
        minutes = min(2 ** (user.wrong_codes - PAUSE_AFTER_WRONG_CODES), MAX_PAUSE_MINUTES)
        user.codes_paused_until = now + timedelta(minutes=minutes)
        audit.record(
            session,
            "staff.alert",
            "wrong_codes",
            actor=user.username,
            wrong_codes=user.wrong_codes,
            paused_minutes=minutes,
        )
    raise SignInRefused()


def _passed(session: Session, record: StaffSession, step: str, recovery_codes_left: int | None = None) -> None:
    record.mfa_done = True
    record.staff.wrong_codes = 0
    record.staff.codes_paused_until = None
    if recovery_codes_left is None:
        audit.record(session, "staff.sign_in", actor=record.staff.username, step=step)
    else:
        audit.record(
            session, "staff.sign_in", actor=record.staff.username, step=step, recovery_codes_left=recovery_codes_left
        )


def accounts_under_attack(session: Session, school_ids: Collection[str] | None) -> list[StaffUser]:
    """Accounts in scope whose second factor is being guessed: for their admins' attention."""
    return [u for u in accounts_of(session, school_ids) if u.wrong_codes >= PAUSE_AFTER_WRONG_CODES]


def end_session(session: Session, record: StaffSession) -> None:
    record.ended_at = utcnow()
    audit.record(session, "staff.sign_out", actor=record.staff.username)


def disable_staff(session: Session, user: StaffUser, *, actor: str) -> None:
    """Stop an account: it can no longer sign in, and its open sessions end now."""
    user.active = False
    user.disabled_at = utcnow()
    _end_open_sessions(session, user)
    audit.record(session, "staff.disable", actor=actor, username=user.username)


def reset_second_factor(session: Session, user: StaffUser, *, actor: str) -> None:
    """A lost phone and lost recovery codes: the next sign-in sets TOTP up again."""
    user.totp_secret_encrypted = None
    user.totp_enabled = False
    user.recovery_code_digests = []
    user.last_totp_step = None
    user.wrong_codes = 0
    user.codes_paused_until = None
    _end_open_sessions(session, user)
    audit.record(session, "staff.reset_mfa", actor=actor, username=user.username)


def account_school(session: Session, user: StaffUser) -> str | None:
    """The school an account belongs to, from its role alone: a teacher's roster record's, a
    school admin's own; none for a district admin. (An account once kept both fields whatever
    its role, and matching either let a school admin manage another school's account.)"""
    if user.role == StaffRole.TEACHER:
        teacher = session.get(Person, user.person_id or "")
        return teacher.school_id if teacher is not None else None
    if user.role == StaffRole.SCHOOL_ADMIN:
        return user.school_id
    return None


def accounts_of(session: Session, school_ids: Collection[str] | None) -> list[StaffUser]:
    """Accounts by username: all (``None``), or those belonging to these schools."""
    users = list(session.scalars(select(StaffUser).order_by(StaffUser.username)))
    if school_ids is None:
        return users
    return [u for u in users if u.role != StaffRole.DISTRICT_ADMIN and account_school(session, u) in school_ids]


def may_create(
    session: Session, school_ids: Collection[str] | None, role: str, *, person_id: str, school_id: str
) -> bool:
    """Whether an admin of these schools (``None``: the district) may make this account.

    A school admin makes teachers and admins of their own schools only.
    """
    if school_ids is None:
        return True
    if role == StaffRole.DISTRICT_ADMIN:
        return False
    if role == StaffRole.TEACHER:
        teacher = session.get(Person, person_id) if person_id else None
        return teacher is not None and teacher.school_id in school_ids
    return role != StaffRole.SCHOOL_ADMIN or school_id in school_ids


def manageable_account(
    session: Session, admin: StaffUser, staff_id: str, school_ids: Collection[str] | None
) -> StaffUser | None:
    """The account, if this admin (of these schools; ``None``: the district) may change it:
    never their own, and for a school admin not a district admin's nor another school's."""
    user = session.get(StaffUser, staff_id)
    if user is None or user.id == admin.id:
        return None
    if school_ids is not None and (
        user.role == StaffRole.DISTRICT_ADMIN or account_school(session, user) not in school_ids
    ):
        return None
    return user
