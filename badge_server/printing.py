"""Badge sheets from the server's database: a class, one student, only new badges, a school.

Every badge printed is audited and marked printed. Payloads are decrypted only here, on the
way to the PDF.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import BinaryIO

import pypdfium2 as pdfium
from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_printing import BadgePrintingError, get_template
from badge_printing.card import BadgeCard, name_sort_key
from badge_printing.sheets import CoverWords, PrintOptions, write_groups_zip, write_sheets
from badge_server import audit
from badge_server.badges import reprint
from badge_server.contract.payload import BadgeKind, new_payload
from badge_server.contract.words import N_, RIGHT_TO_LEFT, catalogue, spoken
from badge_server.errors import NotFoundError, PolicyError, PrintingError
from badge_server.keys import ServerKeys
from badge_server.store.models import Badge, BadgeStatus, Enrollment, Org, Person, RosterRole, SchoolClass


@dataclass(frozen=True)
class PrintRequest:
    """What to print: a class or one person (a PDF), or a school (a ZIP of one PDF per class);
    optionally only badges never printed (new or replaced)."""

    class_id: str | None = None
    school_id: str | None = None
    person_id: str | None = None
    only_new: bool = False


def _class_label(session: Session, school_class: SchoolClass) -> str:
    teacher = session.scalars(
        select(Person)
        .join(Enrollment, Enrollment.person_id == Person.id)
        .where(
            Enrollment.class_id == school_class.id, Enrollment.role == RosterRole.TEACHER, Enrollment.active.is_(True)
        )
    ).first()
    if teacher and teacher.family_name not in school_class.title:
        return f"{school_class.title} – {teacher.display_name}"
    return school_class.title


def _badges(session: Session, request: PrintRequest) -> tuple[str, list[tuple[Badge, str]]]:
    """(title, [(badge, class label)]) sorted by student name."""
    query = (
        select(Badge)
        .join(Person)
        .where(Badge.status == BadgeStatus.ACTIVE, Badge.kind == BadgeKind.BADGE, Person.active.is_(True))
    )
    if request.only_new:
        query = query.where(Badge.printed_at.is_(None))
    labels: dict[str, str] = {}
    if request.class_id:
        school_class = session.get(SchoolClass, request.class_id)
        if school_class is None:
            raise NotFoundError(f"no class with id {request.class_id!r}")
        title = _class_label(session, school_class)
        students = select(Enrollment.person_id).where(
            Enrollment.class_id == school_class.id, Enrollment.role == RosterRole.STUDENT, Enrollment.active.is_(True)
        )
        query = query.where(Badge.person_id.in_(students))
        labels = dict.fromkeys(session.scalars(students), title)
    elif request.school_id:
        school = session.get(Org, request.school_id)
        if school is None:
            raise NotFoundError(f"no school with id {request.school_id!r}")
        title = school.name
        query = query.where(Person.school_id == school.id)
    elif request.person_id:
        person = session.get(Person, request.person_id)
        if person is None:
            raise NotFoundError(f"no person with id {request.person_id!r}")
        title = person.display_name
        query = query.where(Badge.person_id == person.id)
    else:
        raise PolicyError("say what to print: a class, a school or a person")
    badges = list(session.scalars(query))
    if not labels and badges:
        labels = class_labels(session, [b.person_id for b in badges])
    badges.sort(key=lambda b: (labels.get(b.person_id, ""), name_sort_key(b.person.display_name)))
    return title, [(badge, labels.get(badge.person_id, "")) for badge in badges]


def class_labels(session: Session, person_ids: list[str]) -> dict[str, str]:
    """Each student's class, as a badge names it ("Kindergarten – Ms. Rivera")."""
    labels: dict[str, str] = {}
    rows = session.execute(
        select(Enrollment.person_id, SchoolClass)
        .join(SchoolClass, SchoolClass.id == Enrollment.class_id)
        .where(Enrollment.person_id.in_(person_ids), Enrollment.role == RosterRole.STUDENT, Enrollment.active.is_(True))
    ).all()
    for person_id, school_class in rows:
        labels.setdefault(person_id, _class_label(session, school_class))
    return labels


def _rows_to_print(session: Session, request: PrintRequest) -> tuple[str, list[tuple[Badge, str]]]:
    """What ``request`` prints and its title, or :class:`PolicyError` when that is nothing."""
    title, rows = _badges(session, request)
    if not rows:
        what = "new badges" if request.only_new else "active badges"
        raise PolicyError(f"no {what} to print for {title}")
    return title, rows


def badge_cards(session: Session, keys: ServerKeys, rows: list[tuple[Badge, str]], actor: str) -> Iterator[BadgeCard]:
    """The cards of these badges (each a reprint of its current secret, audited as a print)."""
    return _cards(session, rows, lambda badge: str(reprint(session, keys, badge, actor=actor).payload))


def _cards(session: Session, rows: list[tuple[Badge, str]], payload_of: Callable[[Badge], str]) -> Iterator[BadgeCard]:
    schools: dict[str, str] = {}
    for badge, class_label in rows:
        person = badge.person
        if person.school_id and person.school_id not in schools:
            org = session.get(Org, person.school_id)
            schools[person.school_id] = org.name if org else ""
        payload = payload_of(badge)
        yield BadgeCard(
            small_print=small_print(badge, spoken(person.language) or "en"),
            payload=payload,
            name=person.display_name,
            initial=person.first_name[:1],
            class_name=class_label,
            school=schools.get(person.school_id or "", ""),
            expires=badge.expires_at.date(),
            reference=badge.reference,
            color=person.avatar_color,
            key=person.id,
        )


def cover_words(language: str) -> CoverWords:
    """A class sheet's cover page in the teacher's language (the console's); English is the
    printing library's own words, which these are the catalogues' copy of."""
    words = catalogue(language)
    return CoverWords(
        title=words.gettext(N_("Badges: {name}")),
        summary=words.gettext(N_("{count} badges on {stock}. Printed {date}.")),
        how_to_print=words.gettext(N_("Print at 100% (actual size), not 'fit to page'. Sheets follow this page.")),
        place=words.gettext(N_("sheet {sheet}, row {row}, col {column}")),
        right_to_left=language in RIGHT_TO_LEFT,
    )


def print_badges(
    session: Session,
    keys: ServerKeys,
    request: PrintRequest,
    template_name: str,
    output: BinaryIO,
    options: PrintOptions | None = None,
    *,
    actor: str,
    language: str = "en",
) -> int:
    """Write the sheets to ``output`` on the named label stock and audit each badge; returns how many
    were printed. The one place the server prints, for the command line and the console alike. The
    cover page is in ``language`` (the teacher's); the badges in each family's."""
    options = dataclasses.replace(options or PrintOptions(), cover_words=cover_words(language))
    try:
        return _print_badges(session, keys, request, template_name, output, options, actor)
    except BadgePrintingError as exc:
        raise PrintingError(str(exc)) from exc


def _print_badges(
    session: Session,
    keys: ServerKeys,
    request: PrintRequest,
    template_name: str,
    output: BinaryIO,
    options: PrintOptions,
    actor: str,
) -> int:
    template = get_template(template_name)
    title, rows = _rows_to_print(session, request)
    if request.school_id is not None:
        # A whole school: a ZIP of one PDF per class, made one class at a time (bounded memory,
        # and each teacher gets their own class's sheets with its cover page).
        groups = (
            (label or "Students without a class", list(badge_cards(session, keys, list(group), actor)))
            for label, group in groupby(rows, key=lambda row: row[1])
        )
        count = write_groups_zip(groups, template, output, options)
    else:
        cards = list(badge_cards(session, keys, rows, actor))
        titled = dataclasses.replace(options, title=options.cover_words.title.format(name=title))
        count = write_sheets(cards, template, output, titled)
    audit.record(
        session,
        "badge.print_sheets",
        actor=actor,
        count=count,
        template=template.name,
        class_id=request.class_id,
        school_id=request.school_id,
    )
    return count


#: Month names for a badge's expiry, translated in the catalogues (scripts/translations).
MONTHS = (N_("Jan"), N_("Feb"), N_("Mar"), N_("Apr"), N_("May"), N_("Jun"), N_("Jul"), N_("Aug"), N_("Sep"), N_("Oct"),
          N_("Nov"), N_("Dec"))  # fmt: skip


def small_print(badge: Badge, language: str) -> str:
    """The reference and expiry under the name, in the family's language (the roster's)."""
    words = catalogue(language)
    expires = badge.expires_at
    line = words.gettext(N_("Ref {reference}  Exp {month} {day}, {year}"))
    return line.format(reference=badge.reference, month=words.gettext(MONTHS[expires.month - 1]), day=expires.day,
                       year=expires.year)  # fmt: skip


#: The preview's resolution: a US Letter sheet is 1020 x 1320 pixels, enough to read every name.
PREVIEW_DPI = 120


@dataclass(frozen=True)
class SheetPreview:
    """The first sheet of a print, as a picture: how many badges the whole print holds, on how many sheets."""

    png: bytes
    badges: int
    sheets: int


def preview_first_sheet(session: Session, request: PrintRequest, template_name: str) -> SheetPreview:
    """The first sheet as it will print, names and all, but with codes that open nothing: a new
    random secret each, never stored. Nothing is audited or marked printed; no secret is read."""
    try:
        template = get_template(template_name)
    except BadgePrintingError as exc:
        raise PrintingError(str(exc)) from exc
    title, rows = _rows_to_print(session, request)
    first = rows[: template.per_sheet]
    cards = list(_cards(session, first, lambda badge: str(new_payload(BadgeKind.BADGE, badge.generation))))
    pdf = io.BytesIO()
    write_sheets(cards, template, pdf, PrintOptions(title=CoverWords().title.format(name=title), cover_page=False))
    document = pdfium.PdfDocument(pdf.getvalue())
    try:
        picture = document[0].render(scale=PREVIEW_DPI / 72).to_pil()
    finally:
        document.close()
    png = io.BytesIO()
    picture.save(png, format="PNG", optimize=True)
    return SheetPreview(png.getvalue(), len(rows), -(-len(rows) // template.per_sheet))
