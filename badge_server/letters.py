"""Letters home: for each student of a class (or one student), their badge, the steps to sign in
at home and the fallback username and password, rendered by ``badge_printing.letters``.

A student without an active badge stops the whole print, naming every such student, before
anything is written: a letter without its badge would send a family to a dead end. A student
without a password is given one now (it is printed, so nothing is silent: audited as
``password.set``); one who chose their own is told to use it. Each letter is audited
(``letters.print``), and each badge on it as a print, like a badge sheet.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_printing.card import name_sort_key
from badge_printing.letter_words import letter_language
from badge_printing.letters import LetterHome
from badge_server import audit, badges, student_passwords
from badge_server.errors import NotFoundError, PolicyError
from badge_server.keys import ServerKeys
from badge_server.printing import badge_cards, class_labels
from badge_server.settings import Settings
from badge_server.store.account_models import StudentPassword
from badge_server.store.models import Enrollment, Org, Person, RosterRole, SchoolClass


@dataclass(frozen=True)
class LetterRequest:
    """A class's letters, or one student's."""

    class_id: str | None = None
    person_id: str | None = None


def _students(session: Session, request: LetterRequest) -> list[Person]:
    if request.class_id:
        if session.get(SchoolClass, request.class_id) is None:
            raise NotFoundError(f"no class with id {request.class_id!r}")
        found = session.scalars(
            select(Person)
            .join(Enrollment, Enrollment.person_id == Person.id)
            .where(
                Enrollment.class_id == request.class_id,
                Enrollment.role == RosterRole.STUDENT,
                Enrollment.active.is_(True),
                Person.active.is_(True),
            )
        ).all()
        return sorted(found, key=lambda p: name_sort_key(p.display_name))
    if request.person_id:
        person = session.get(Person, request.person_id)
        if person is None or not person.active or person.role != RosterRole.STUDENT:
            raise NotFoundError(f"no active student with id {request.person_id!r}")
        return [person]
    raise PolicyError("say whose letters to print: a class or a student")


def build_letters(
    session: Session, keys: ServerKeys, settings: Settings, request: LetterRequest, *, sign_in_url: str, actor: str
) -> list[LetterHome]:
    """Everything to print, with passwords given where missing; raises before changing anything
    if a student has no active badge."""
    students = _students(session, request)
    if not students:
        raise PolicyError("this class has no students to write to")
    current = {p.id: badges.current_badge(session, p.id) for p in students}
    missing = [p.display_name for p in students if current[p.id] is None]
    if missing:
        names = " and ".join([", ".join(missing[:-1]), missing[-1]] if len(missing) > 1 else missing)
        verb = "has" if len(missing) == 1 else "have"
        raise PolicyError(f"{names} {verb} no badge: issue one first (nothing was printed)")
    labels = class_labels(session, [p.id for p in students])
    rows = [(badge, labels.get(p.id, "")) for p in students if (badge := current[p.id]) is not None]
    schools = {org.id: org.name for org in session.scalars(select(Org))}
    letters = []
    for person, card in zip(students, badge_cards(session, keys, rows, actor), strict=True):
        record = session.get(StudentPassword, person.id)
        if record is None:
            password: str | None = student_passwords.give_password(session, keys, settings, person, actor=actor)
        else:
            password = student_passwords.given_password(keys, record)
        letters.append(
            LetterHome(
                card=card,
                student_name=person.display_name,
                school=schools.get(person.school_id or "", ""),
                sign_in_url=sign_in_url.rstrip("/"),
                username=person.username or person.identifier or person.id,
                password=password,
                language=letter_language(person.language),
            )
        )
        audit.record(session, "letters.print", actor=actor, person_id=person.id, language=letters[-1].language)
    return letters
