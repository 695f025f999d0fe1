"""Student passwords: the fallback for a device without a camera, and grade 6+ students' own.

A teacher gives a password (generated: word + word + number, easy for a child to type and read
off a letter) and may see it again, so a letter home can be printed twice: like a badge secret,
it is kept encrypted with the server key beside its argon2 hash. A student in a grade that
chooses (6 and up by default) must replace a given password at the first sign-in; a chosen
password is only hashed, and nobody can read it back.

Verifying costs ~50-170 ms of CPU on purpose: callers verify outside any database transaction
(:func:`verify`) so a burst of password sign-ins never holds SQLite's write lock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.clock import utcnow
from badge_server.contract.words import N_
from badge_server.errors import PolicyError
from badge_server.keys import ServerKeys
from badge_server.settings import Settings
from badge_server.staff_words import StaffMessage
from badge_server.store.account_models import StudentPassword
from badge_server.store.models import Person, RosterRole

_hasher = PasswordHasher()
# Checked against when no such student exists, so the time taken does not tell whether one does.
_DUMMY_HASH = _hasher.hash("no such student")

# Short, concrete words a five-year-old can sound out, none that reads as another on a letter
# (no "I"/"l"/"O"/"0" confusion is possible: lowercase words, then digits 2-9 only).
WORDS = (
    "apple", "bear", "bird", "boat", "book", "cake", "cat", "cloud", "corn", "cow", "crab", "drum",
    "duck", "egg", "farm", "fish", "flag", "frog", "gift", "goat", "grape", "hat", "hen", "hill",
    "horse", "jam", "kite", "lamp", "leaf", "lemon", "lion", "map", "milk", "moon", "mouse", "nest",
    "owl", "panda", "park", "pear", "pig", "pizza", "plum", "pond", "rain", "river", "robot", "rock",
    "rose", "seal", "shell", "ship", "snow", "sock", "star", "sun", "swan", "tent", "tiger", "train",
    "tree", "truck", "tulip", "wave", "whale", "wind", "wolf", "yak", "zebra", "acorn", "banjo",
    "bell", "berry", "bunny", "candy", "comet", "daisy", "dino", "eagle", "fox", "gem", "honey",
    "igloo", "jelly", "koala", "llama", "mango", "otter", "peach", "puppy", "quilt", "salad",
    "tacos", "toast", "violin", "wagon", "yoyo", "zoo",
)  # fmt: skip
_DIGITS = "23456789"

# What a chosen password needs: long enough to resist guessing at the throttle's pace, and none
# of the first passwords a classmate would try.
CHOSEN_MIN_LENGTH = 8
_COMMON = frozenset({"password", "12345678", "123456789", "qwertyui", "iloveyou", "abcdefgh", "football", "minecraft"})


@dataclass(frozen=True)
class PasswordSignIn:
    """What a password sign-in needs from the database, read before verifying (outside it)."""

    person_id: str
    password_hash: str
    must_choose: bool


def generate_password() -> str:
    """Two different words and a two-digit number, e.g. ``tigermoon47`` (about 23 bits: with the
    per-student and per-address throttle an online guesser needs years)."""
    first, second = secrets.choice(WORDS), secrets.choice(WORDS)
    while second == first:
        second = secrets.choice(WORDS)
    return f"{first}{second}{secrets.choice(_DIGITS)}{secrets.choice(_DIGITS)}"


def normalise_username(username: str) -> str:
    return username.strip().lower()


def find_student(session: Session, username: str) -> Person | None:
    """The active student whose roster username or student number this is (case-insensitive)."""
    name = normalise_username(username)
    if not name:
        return None
    return session.scalars(
        select(Person).where(
            Person.role == RosterRole.STUDENT,
            Person.active.is_(True),
            or_(func.lower(Person.username) == name, func.lower(Person.identifier) == name),
        )
    ).first()


def load_sign_in(session: Session, username: str) -> PasswordSignIn | None:
    """Read what verifying needs, so the caller can end the transaction before it verifies."""
    person = find_student(session, username)
    record = session.get(StudentPassword, person.id) if person else None
    if person is None or record is None:
        return None
    return PasswordSignIn(person.id, record.password_hash, record.must_choose)


def verify(sign_in: PasswordSignIn | None, password: str) -> bool:
    """Check a password against its hash; never call this inside a database transaction. An
    unknown student is checked against a dummy hash, so the answer takes the same time."""
    try:
        return _hasher.verify(sign_in.password_hash if sign_in else _DUMMY_HASH, password) and sign_in is not None
    except (VerificationError, InvalidHashError):
        return False


def chooses_own_password(person: Person, settings: Settings) -> bool:
    """Students in these grades replace a given password with their own at the first sign-in."""
    return (person.grade or "") in settings.student_chooses_password_grades


def give_password(
    session: Session, keys: ServerKeys, settings: Settings, person: Person, *, actor: str, password: str | None = None
) -> str:
    """Set (or reset) a student's password to a new given one and return it, to show or print once
    more. Older students must choose their own at the next sign-in."""
    if person.role != RosterRole.STUDENT:
        raise PolicyError(f"{person.display_name} is not a student; staff sign in to the console")
    given = password or generate_password()
    record = session.get(StudentPassword, person.id)
    if record is None:
        record = StudentPassword(person_id=person.id)
        session.add(record)
    record.password_hash = _hasher.hash(given)
    record.given_encrypted = keys.encrypt(given)
    record.must_choose = chooses_own_password(person, settings)
    record.set_at = utcnow()
    record.set_by = actor
    audit.record(session, "password.set", actor=actor, person_id=person.id, given=True)
    return given


def given_password(keys: ServerKeys, record: StudentPassword | None) -> str | None:
    """The password a teacher gave, for a letter; ``None`` once the student chose their own."""
    if record is None or record.given_encrypted is None:
        return None
    return keys.decrypt(record.given_encrypted)


def check_chosen_password(person: Person, password: str) -> None:
    """Refuse a chosen password a classmate could guess; the message says what to change."""
    lowered = password.lower()
    if len(password) < CHOSEN_MIN_LENGTH:
        raise PolicyError(N_("Use at least 8 letters or numbers."))  # CHOSEN_MIN_LENGTH
    if lowered in _COMMON or len(set(lowered)) <= 2:
        raise PolicyError(N_("That password is too easy to guess. Try two words and a number."))
    for part in (person.username, person.identifier, person.given_name, person.family_name):
        if part and len(part) >= 3 and part.lower() in lowered:
            raise PolicyError(N_("Don't put your name or username in your password."))


def hash_password(password: str) -> str:
    """argon2 hash of a password: as costly as :func:`verify`, so also outside any transaction."""
    return _hasher.hash(password)


def choose_password(session: Session, person: Person, password: str, hashed: str) -> None:
    """The student's own password (``hashed`` from :func:`hash_password`, made before the
    transaction) replaces the one they had; nobody can read it back."""
    check_chosen_password(person, password)
    record = session.get(StudentPassword, person.id)
    if record is None:
        raise PolicyError(f"{person.display_name} has no password to replace")
    record.password_hash = hashed
    record.given_encrypted = None
    record.must_choose = False
    record.set_at = utcnow()
    record.set_by = "student"
    audit.record(session, "password.set", actor="student", person_id=person.id, given=False)


def password_state(session: Session, person_id: str) -> StaffMessage:
    """How a student signs in without a badge, in a teacher's words; the page shows a password a
    teacher gave (``given_password``) on request."""
    record = session.get(StudentPassword, person_id)
    if record is None:
        return StaffMessage(N_("No password yet"))
    when = {"when": record.set_at.date()}
    if record.given_encrypted is None:
        return StaffMessage(N_("Chose their own password (%(when)s)"), when)
    if record.must_choose:
        text = N_("Password given by %(by)s (%(when)s) — must choose their own at the next sign-in")
        return StaffMessage(text, {"by": record.set_by, **when})
    return StaffMessage(N_("Password given by %(by)s (%(when)s)"), {"by": record.set_by, **when})


def has_given_password(session: Session, person_id: str) -> bool:
    """Whether the student's password is one a teacher gave (and so can be shown again)."""
    record = session.get(StudentPassword, person_id)
    return record is not None and record.given_encrypted is not None
