"""OneRoster CSV import (1.1, and 1.2 with its roles.csv; bulk and delta files): validate
everything first, then apply in one transaction.

An import with any problem changes nothing and reports every problem with file, line and
column. A valid import is idempotent: it updates what changed and deactivates people,
classes and enrolments that disappeared from a bulk file (or that a delta marks
``tobedeleted``), without deleting their history.
"""

from __future__ import annotations

import csv
import io
import time
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from badge_server import audit
from badge_server.badges import badges_to_issue, eligible, store_new_badges
from badge_server.clock import utcnow
from badge_server.contract.payload import BadgeKind
from badge_server.contract.words import N_
from badge_server.errors import RosterImportError, RosterProblem
from badge_server.keys import ServerKeys
from badge_server.settings import Settings
from badge_server.store.db import read_only_transaction, transaction
from badge_server.store.models import (
    ENROLLMENT_ROLES,
    AcademicSession,
    Badge,
    BadgeStatus,
    Course,
    Enrollment,
    ImportRun,
    Org,
    Person,
    RosterRole,
    SchoolClass,
)

MAX_FILE_BYTES = 200 * 1024 * 1024
GRADES = {
    "IT",
    "PR",
    "PK",
    "TK",
    "KG",
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "07",
    "08",
    "09",
    "10",
    "11",
    "12",
    "13",
    "PS",
    "UG",
    "Other",
}
ORG_TYPES = {"department", "school", "district", "local", "state", "national"}
SESSION_TYPES = {"gradingPeriod", "semester", "schoolYear", "term"}
STATUSES = {"", "active", "tobedeleted", "inactive"}

# file -> (required columns, optional file?)
FILES: dict[str, tuple[tuple[str, ...], bool]] = {
    "orgs.csv": (("sourcedId", "name", "type"), False),
    "users.csv": (("sourcedId", "enabledUser", "orgSourcedIds", "role", "username", "givenName", "familyName"), False),
    "classes.csv": (("sourcedId", "title", "schoolSourcedId"), False),
    "enrollments.csv": (("sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"), False),
    "courses.csv": (("sourcedId", "title", "orgSourcedId"), True),
    "academicSessions.csv": (("sourcedId", "title", "type", "startDate", "endDate"), True),
}

# OneRoster 1.2 moved a user's role and orgs out of users.csv into roles.csv (a row per role, one
# of them the primary) and renamed preferredFirstName. A 1.2 folder is folded into 1.1's shape.
USERS_1_2 = ("sourcedId", "enabledUser", "username", "givenName", "familyName")
ROLES_1_2 = ("userSourcedId", "roleType", "role", "orgSourcedId")
#: 1.2's role vocabulary, as the 1.1 role the product acts on (staff accounts: teachers, admins).
ROLE_FROM_1_2 = {
    "student": RosterRole.STUDENT,
    "teacher": RosterRole.TEACHER,
    "aide": RosterRole.AIDE,
    "counselor": RosterRole.AIDE,
    "proctor": RosterRole.PROCTOR,
    "principal": RosterRole.ADMINISTRATOR,
    "siteAdministrator": RosterRole.ADMINISTRATOR,
    "districtAdministrator": RosterRole.ADMINISTRATOR,
    "systemAdministrator": RosterRole.ADMINISTRATOR,
    "guardian": RosterRole.GUARDIAN,
    "parent": RosterRole.PARENT,
    "relative": RosterRole.RELATIVE,
}
VERSIONS = {"1.0", "1.1", "1.2"}


@dataclass
class Row:
    """One data row with where it came from, so problems can name line and column."""

    file: str
    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()


@dataclass
class ImportReport:
    """What an import did, counted per kind; kept in ``import_runs`` for the console."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deactivated: dict[str, int] = field(default_factory=dict)
    badges_issued: int = 0
    # Students per school: active before the import, added, and deactivated by it.
    schools: dict[str, SchoolStudents] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "deactivated": self.deactivated,
            "badges_issued": self.badges_issued,
            "schools": {school_id: vars(counts) for school_id, counts in self.schools.items()},
        }


@dataclass
class SchoolStudents:
    """One school's students in an import: how many were active, came, and would be deactivated."""

    name: str
    active_before: int = 0
    added: int = 0
    deactivated: int = 0


# A school losing a handful of students is a normal week; only above this many does the share count.
MASS_DEACTIVATION_FLOOR = 5


class _Checker:
    def __init__(self) -> None:
        self.problems: list[RosterProblem] = []

    def add(self, file: str, line: int | None, column: str | None, message: str) -> None:
        self.problems.append(RosterProblem(file, line, column, message))


def _first_nul(data: bytes) -> tuple[int | None, str | None]:
    """The line and column of the first NUL byte, for the person who must fix the file."""
    try:
        text = data.decode("utf-8-sig", errors="replace").replace("\x00", "\ufffe")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, [])
        line = reader.line_num + 1  # where the next record starts: a quoted cell may span lines
        for record in reader:
            for at, cell in enumerate(record):
                if "\ufffe" in cell:
                    column = header[at] if at < len(header) else None
                    named = column is not None and column.isprintable() and "\ufffd" not in column
                    return line, column if named else None
            line = reader.line_num + 1
    except csv.Error:
        pass
    return data[: data.index(b"\x00")].count(b"\n") + 1, None


def _read_csv(path: Path, checker: _Checker, required: tuple[str, ...]) -> list[Row]:
    name = path.name
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        checker.add(name, None, None, f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")
        return []
    data = path.read_bytes()
    if b"\x00" in data:
        line, column = _first_nul(data)
        checker.add(name, line, column, "a NUL byte: the file is binary, or this cell was damaged; not CSV text")
        return []
    try:
        text = data.decode("utf-8-sig")  # Excel and SIS exports often start with a BOM
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        checker.add(name, line, None, f"not UTF-8 text (bad byte 0x{data[exc.start]:02x}); save as UTF-8")
        return []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        checker.add(name, 1, None, "file is empty; expected a header row")
        return []
    except csv.Error as exc:
        checker.add(name, 1, None, f"CSV syntax error: {exc}")
        return []
    header = [h.strip() for h in header]
    missing = [c for c in required if c not in header]
    for column in missing:
        checker.add(name, 1, column, "required column is missing from the header")
    if missing:
        return []
    rows: list[Row] = []
    line = reader.line_num + 1
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                line = reader.line_num + 1
                continue
            if len(record) > len(header):
                checker.add(name, line, None, f"row has {len(record)} fields but the header has {len(header)}")
            rows.append(Row(name, line, dict(zip(header, record, strict=False))))
            line = reader.line_num + 1
    except csv.Error as exc:
        checker.add(name, line, None, f"CSV syntax error: {exc}")
    return rows


def _read_manifest(directory: Path, checker: _Checker) -> dict[str, str]:
    path = directory / "manifest.csv"
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for row in _read_csv(path, checker, ("propertyName", "value")):
        values[row.get("propertyName")] = row.get("value")
    version = values.get("oneroster.version")
    if version and version not in VERSIONS:
        checker.add("manifest.csv", None, "value", f"oneroster.version {version!r} is not supported (1.0, 1.1 or 1.2)")
    for key, mode in values.items():
        if key.startswith("file.") and mode not in {"bulk", "delta", "absent"}:
            checker.add("manifest.csv", None, "value", f"{key} is {mode!r}; expected bulk, delta or absent")
    return values


@dataclass
class Existing:
    """What the database already holds, for a delta export's rows to refer to: ids per roster
    file, each org's type, and each person's role and school."""

    ids: dict[str, set[str]] = field(default_factory=dict)
    org_types: dict[str, str] = field(default_factory=dict)
    people: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    @classmethod
    def of(cls, session: Session) -> Existing:
        org_types = {org_id: org_type for org_id, org_type in session.execute(select(Org.id, Org.type))}
        people = {
            person_id: (role, school_id)
            for person_id, role, school_id in session.execute(select(Person.id, Person.role, Person.school_id))
        }
        ids = {
            "orgs.csv": set(org_types),
            "users.csv": set(people),
            "classes.csv": set(session.scalars(select(SchoolClass.id))),
            "courses.csv": set(session.scalars(select(Course.id))),
            "academicSessions.csv": set(session.scalars(select(AcademicSession.id))),
        }
        return cls(ids, org_types, people)


def _delta_files(manifest: dict[str, str]) -> set[str]:
    """The files a manifest declares as deltas: only changed rows, the rest stays as it is."""
    return {
        f"{key.removeprefix('file.')}.csv"
        for key, mode in manifest.items()
        if key.startswith("file.") and mode == "delta"
    }


def _load(directory: Path, checker: _Checker, existing: Existing) -> dict[str, list[Row]]:
    if not directory.is_dir():
        checker.add(str(directory), None, None, "not a folder of OneRoster CSV files")
        return {}
    manifest = _read_manifest(directory, checker)
    version = manifest.get("oneroster.version") or ("1.2" if (directory / "roles.csv").exists() else "1.1")
    files = dict(FILES)
    if version == "1.2":
        files |= {"users.csv": (USERS_1_2, False), "roles.csv": (ROLES_1_2, False)}
    tables: dict[str, list[Row]] = {}
    for file_name, (required, optional) in files.items():
        path = directory / file_name
        declared_absent = manifest.get(f"file.{file_name.removesuffix('.csv')}") == "absent"
        if not path.exists():
            if not optional and not declared_absent:
                checker.add(file_name, None, None, "required file is missing from the roster folder")
            tables[file_name] = []
            continue
        tables[file_name] = _read_csv(path, checker, required)
    if version == "1.2" and not checker.problems:
        _fold_roles(tables["users.csv"], tables.pop("roles.csv"), checker, existing)
    return tables


def _fold_roles(users: list[Row], roles: list[Row], checker: _Checker, existing: Existing) -> None:
    """Give each 1.2 user row the 1.1 ``role`` and ``orgSourcedIds`` from its roles.csv rows
    (the primary role first, its org first), and ``preferredFirstName`` from ``preferredGivenName``.
    A delta's user whose roles did not change (no roles.csv row) keeps the role and school it has."""
    known = {row.get("sourcedId") for row in users}
    by_user: dict[str, list[Row]] = {}
    for row in roles:
        _require(row, checker, ROLES_1_2)
        _check_choice(row, checker, "roleType", {"primary", "secondary"})
        _check_choice(row, checker, "role", set(ROLE_FROM_1_2))
        _check_choice(row, checker, "status", STATUSES)
        user_id = row.get("userSourcedId")
        if user_id and user_id not in known:
            checker.add(row.file, row.line, "userSourcedId", f"user {user_id!r} is not in users.csv")
        if row.get("status") != "tobedeleted":
            by_user.setdefault(user_id, []).append(row)
    for user in users:
        held = sorted(by_user.get(user.get("sourcedId"), []), key=lambda role: role.get("roleType") != "primary")
        if not held:
            kept = existing.people.get(user.get("sourcedId"))
            if kept is None:
                checker.add(user.file, user.line, "sourcedId", "this user has no role in roles.csv")
            else:
                user.values["role"], user.values["orgSourcedIds"] = kept[0], kept[1] or ""
            continue
        orgs = [user.get("primaryOrgSourcedId"), *(role.get("orgSourcedId") for role in held)]
        user.values["role"] = ROLE_FROM_1_2.get(held[0].get("role"), held[0].get("role"))
        user.values["orgSourcedIds"] = ",".join(dict.fromkeys(org for org in orgs if org))
        user.values.setdefault("preferredFirstName", user.get("preferredGivenName"))


def _require(row: Row, checker: _Checker, columns: tuple[str, ...]) -> None:
    for column in columns:
        if not row.get(column):
            checker.add(row.file, row.line, column, "value is required but empty")


def _check_choice(row: Row, checker: _Checker, column: str, allowed: AbstractSet[str]) -> None:
    value = row.get(column)
    if value and value not in allowed:
        checker.add(row.file, row.line, column, f"{value!r} is not one of {', '.join(sorted(allowed))}")


def _unique(rows: list[Row], checker: _Checker) -> dict[str, Row]:
    seen: dict[str, Row] = {}
    for row in rows:
        key = row.get("sourcedId")
        if key in seen:
            checker.add(row.file, row.line, "sourcedId", f"{key!r} already used on line {seen[key].line}")
        elif key:
            seen[key] = row
    return seen


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _validate(tables: dict[str, list[Row]], checker: _Checker, existing: Existing) -> dict[str, dict[str, Row]]:
    by_id = {name: _unique(rows, checker) for name, rows in tables.items()}
    # A reference may name a row of this export or, in a delta, one the database already has.
    known = {name: set(rows) | existing.ids.get(name, set()) for name, rows in by_id.items()}
    orgs, users, classes = known["orgs.csv"], known["users.csv"], known["classes.csv"]
    courses, terms = known["courses.csv"], known["academicSessions.csv"]

    def ref(row: Row, column: str, known: set[str], what: str, *, many: bool = False) -> None:
        values = _split(row.get(column)) if many else [row.get(column)]
        for value in values:
            if value and value not in known:
                checker.add(row.file, row.line, column, f"{what} {value!r} is not in the roster")

    for name, rows in tables.items():
        required = FILES[name][0]
        for row in rows:
            _require(row, checker, required)
            _check_choice(row, checker, "status", STATUSES)
    for row in tables["orgs.csv"]:
        _check_choice(row, checker, "type", ORG_TYPES)
        ref(row, "parentSourcedId", orgs, "parent org")
    for row in tables["academicSessions.csv"]:
        _check_choice(row, checker, "type", SESSION_TYPES)
    for row in tables["courses.csv"]:
        ref(row, "orgSourcedId", orgs, "org")
    for row in tables["users.csv"]:
        _check_choice(row, checker, "role", set(RosterRole))
        _check_choice(row, checker, "enabledUser", {"true", "false", "TRUE", "FALSE", "True", "False"})
        ref(row, "orgSourcedIds", orgs, "org", many=True)
        for grade in _split(row.get("grades")):
            if grade not in GRADES:
                checker.add(row.file, row.line, "grades", f"{grade!r} is not a OneRoster grade code")
    for row in tables["classes.csv"]:
        ref(row, "schoolSourcedId", orgs, "school")
        if courses:  # without courses.csv there is nothing to check the reference against
            ref(row, "courseSourcedId", courses, "course")
        if terms:
            ref(row, "termSourcedIds", terms, "academic session", many=True)
    for row in tables["enrollments.csv"]:
        _check_choice(row, checker, "role", ENROLLMENT_ROLES)
        ref(row, "classSourcedId", classes, "class")
        ref(row, "userSourcedId", users, "user")
        ref(row, "schoolSourcedId", orgs, "school")
    return by_id


def _active(row: Row) -> bool:
    return row.get("status") in {"", "active"}


@dataclass
class _Change:
    """What an import does to one table: rows to add, rows to change (by id), ids to deactivate."""

    table: Table
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    deactivate: list[str] = field(default_factory=list)
    leaving: dict[str, Any] = field(default_factory=dict)

    def write(self, db: Session) -> None:
        """Core statements, many rows each: the ORM's per-object work held SQLite's writer for
        seconds on a district's roster (benchmarks/roster_import.py)."""
        table = self.table
        if self.inserts:
            db.execute(insert(table), self.inserts)
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for values in self.updates:
            by_columns[tuple(sorted(values))].append({f"v_{k}": v for k, v in values.items()})
        for columns, rows in by_columns.items():
            changed: dict[str, Any] = {column: bindparam(f"v_{column}") for column in columns if column != "id"}
            db.execute(update(table).where(table.c.id == bindparam("v_id")).values(changed), rows)
        for start in range(0, len(self.deactivate), 5000):
            gone = self.deactivate[start : start + 5000]
            db.execute(update(table).where(table.c.id.in_(gone)).values(active=False, **self.leaving))


def _plan(
    db: Session,
    model: type[Any],
    rows: dict[str, Row],
    fields: Callable[[Row], dict[str, Any]],
    report: ImportReport,
    label: str,
    *,
    delta: bool = False,
) -> _Change:
    """What upserting ``rows`` changes, read without writing. A bulk file is the whole truth, so
    what it lacks is deactivated; a delta file holds only changes, so what it lacks stays as it is
    (its ``tobedeleted`` rows go)."""
    table: Table = model.__table__
    current = {row["id"]: row for row in db.execute(select(table)).mappings()}
    change = _Change(table)
    deactivated = 0
    # People carry when they left (purge-people counts from it): set as they go, cleared on return.
    dates_leaving = "deactivated_at" in table.c
    now = utcnow()
    for key, row in rows.items():
        values = fields(row)
        old = current.get(key)
        if dates_leaving and (old is None or old["active"] != values["active"]):
            values["deactivated_at"] = None if values["active"] else now
        if old is None:
            change.inserts.append({"id": key, **values})
        elif any(old[k] != v for k, v in values.items()):
            if old["active"] and not values.get("active", True):
                deactivated += 1
            change.updates.append({"id": key, **values})
    if not delta:
        change.deactivate = [key for key, old in current.items() if key not in rows and old["active"]]
    change.leaving = {"deactivated_at": now} if dates_leaving else {}
    report.created[label] = len(change.inserts)
    report.updated[label] = len(change.updates) - deactivated
    report.deactivated[label] = deactivated + len(change.deactivate)
    return change


def _person_fields(row: Row, org_types: dict[str, str]) -> dict[str, Any]:
    org_ids = _split(row.get("orgSourcedIds"))
    school = next((o for o in org_ids if org_types.get(o) == "school"), org_ids[0] if org_ids else None)
    grades = _split(row.get("grades"))
    return {
        "role": row.get("role"),
        "username": row.get("username"),
        "given_name": row.get("givenName"),
        "family_name": row.get("familyName"),
        "preferred_name": row.get("preferredFirstName") or None,
        "email": row.get("email") or None,
        "identifier": row.get("identifier") or None,
        # Not a OneRoster 1.1 column: an extension (``metadata.language``) some SIS exports add.
        "language": (row.get("metadata.language") or row.get("preferredLanguage"))[:16] or None,
        "grade": grades[0] if grades else None,
        "school_id": school,
        "active": _active(row) and row.get("enabledUser").lower() == "true",
    }


def _students_per_school(
    session: Session, users: dict[str, Row], orgs: dict[str, Row], org_types: dict[str, str], *, delta: bool
) -> dict[str, SchoolStudents]:
    """Per school, the students active now, the new ones, and those this import deactivates
    (gone from a bulk users.csv, or no longer active there). A student moving school is neither."""
    names = {org.id: org.name for org in session.scalars(select(Org))}
    names |= {key: row.get("name") for key, row in orgs.items()}
    schools: dict[str, SchoolStudents] = {}

    def school(school_id: str | None) -> SchoolStudents:
        key = school_id or "(no school)"
        return schools.setdefault(key, SchoolStudents(names.get(key, key)))

    existing = session.execute(
        select(Person.id, Person.school_id, Person.active).where(Person.role == RosterRole.STUDENT.value)
    )
    before = {person_id: (school_id, active) for person_id, school_id, active in existing}
    for person_id, (school_id, active) in before.items():
        if active:
            school(school_id).active_before += 1
            row = users.get(person_id)
            if (row is None and not delta) or (row is not None and not _person_fields(row, org_types)["active"]):
                school(school_id).deactivated += 1
    for person_id, row in users.items():
        if row.get("role") == RosterRole.STUDENT.value and person_id not in before:
            school(_person_fields(row, org_types)["school_id"]).added += 1
    return schools


def _refuse_mass_deactivation(schools: dict[str, SchoolStudents], share: float) -> None:
    """A truncated SIS export must not deactivate a school's students overnight: refuse an import
    that deactivates more than ``share`` of any school's active students (and at least
    MASS_DEACTIVATION_FLOOR), naming each school and its numbers."""
    problems = [
        RosterProblem(
            "users.csv",
            None,
            None,
            f"this import would deactivate {counts.deactivated} of the {counts.active_before} active students of "
            f"{counts.name} ({school_id}), {counts.deactivated / counts.active_before:.0%}, more than the "
            f"{share:.0%} allowed (BADGE_ROSTER_MAX_DEACTIVATION_SHARE). Check the export is complete; if the "
            "students really left, import again with --allow-mass-deactivation (the console's confirmation box)",
        )
        for school_id, counts in sorted(schools.items())
        if counts.deactivated >= MASS_DEACTIVATION_FLOOR and counts.deactivated > share * counts.active_before
    ]
    if problems:
        raise RosterImportError(problems)


@dataclass(frozen=True)
class CheckedRoster:
    """A roster folder that passed every check: its rows by file and id, and which files are deltas."""

    by_id: dict[str, dict[str, Row]]
    delta: frozenset[str]
    existing: Existing

    def org_types(self) -> dict[str, str]:
        return self.existing.org_types | {key: row.get("type") for key, row in self.by_id["orgs.csv"].items()}


def validate_roster(directory: Path, session: Session | None = None) -> CheckedRoster:
    """Read and check a roster folder; raise :class:`RosterImportError` listing every problem.
    A delta export's rows may refer to what ``session``'s database already holds."""
    checker = _Checker()
    delta = frozenset(_delta_files(_read_manifest(directory, _Checker()) if directory.is_dir() else {}))
    existing = Existing.of(session) if delta and session is not None else Existing()
    tables = _load(directory, checker, existing)
    by_id = _validate(tables, checker, existing) if tables and not checker.problems else {}
    if checker.problems:
        raise RosterImportError(checker.problems)
    return CheckedRoster(by_id, delta, existing)


def import_roster(
    factory: sessionmaker[Session],
    directory: Path,
    keys: ServerKeys,
    settings: Settings,
    *,
    actor: str,
    source: str | None = None,
    allow_mass_deactivation: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate, then upsert everything (all or nothing) and issue badges to eligible students who
    have none. Refused, changing nothing, when it would deactivate too many of a school's students,
    unless ``allow_mass_deactivation``. ``dry_run``: the report of what would change, nothing written.

    Kiosks keep signing students in meanwhile: the files are checked and the changes worked out
    in a transaction that only reads (on SQLite it takes no write lock), then written in one short
    transaction; the new badges follow in small ones (a first import issues tens of thousands, at
    a millisecond or two each). A crash between leaves the roster imported and some badges to
    issue: the next import issues them.
    """
    tell = progress or _quiet
    tell(N_("checking the files and working out the changes"), 0, 1)
    with read_only_transaction(factory) as reading:
        report, changes, to_badge = _work_out(reading, directory, settings, allow_mass_deactivation)
    if dry_run:
        report.badges_issued = to_badge
        return report
    source = source or str(directory)
    tell(N_("writing the roster"), 0, 1)
    with transaction(factory) as writing:
        for change in changes:
            change.write(writing)
        audit.record(writing, "roster.import", actor=actor, source=source, **report.as_dict())
    report.badges_issued = _issue_badges(factory, keys, settings, actor=actor, expected=to_badge, tell=tell)
    with transaction(factory) as writing:
        writing.add(ImportRun(at=utcnow(), source=source, report=report.as_dict()))
    return report


BADGES_PER_TRANSACTION = 200
GIVE_WAY_SECONDS = 0.12  # longer than SQLite's longest busy-wait sleep (100 ms)


#: Told where a long import is: a step's name, how much of it is done, and of how much.
Progress = Callable[[str, int, int], None]


def _quiet(_step: str, _done: int, _total: int) -> None:
    pass


def _issue_badges(
    factory: sessionmaker[Session], keys: ServerKeys, settings: Settings, *, actor: str, expected: int, tell: Progress
) -> int:
    issued = 0
    give_way = GIVE_WAY_SECONDS if factory.kw["bind"].dialect.name == "sqlite" else 0.0
    while True:
        tell(N_("issuing badges"), issued, expected)
        # Made while only reading; then a write of a few milliseconds.
        with read_only_transaction(factory) as reading:
            batch = badges_to_issue(reading, keys, settings, limit=BADGES_PER_TRANSACTION)
        with transaction(factory) as writing:
            issued += store_new_badges(writing, batch, actor=actor)
        if len(batch) < BADGES_PER_TRANSACTION:
            tell(N_("issuing badges"), issued, max(issued, expected))
            return issued
        # The server's writers wait for SQLite's lock in a sleep-and-retry loop (sleeps of up to
        # 100 ms): batches back to back would take the lock again before a sleeping kiosk's
        # request woke up to it (p99 1.4 s, and 503s, while 5,000 badges were issued).
        time.sleep(give_way)


def _work_out(
    session: Session, directory: Path, settings: Settings, allow_mass_deactivation: bool
) -> tuple[ImportReport, list[_Change], int]:
    """The report, every table's changes and how many badges to issue, read without writing."""
    checked = validate_roster(directory, session)
    by_id, org_types, delta = checked.by_id, checked.org_types(), checked.delta
    orgs = by_id["orgs.csv"]
    report = ImportReport(
        schools=_students_per_school(session, by_id["users.csv"], orgs, org_types, delta="users.csv" in delta)
    )
    if not allow_mass_deactivation:
        _refuse_mass_deactivation(report.schools, settings.roster_max_deactivation_share)
    changes: list[_Change] = []
    changes.append(
        _plan(
            session,
            Org,
            orgs,
            lambda r: {
                "name": r.get("name"),
                "type": r.get("type"),
                "identifier": r.get("identifier") or None,
                "parent_id": r.get("parentSourcedId") or None,
                "active": _active(r),
            },
            report,
            "orgs",
            delta="orgs.csv" in delta,
        )
    )
    changes.append(
        _plan(
            session,
            AcademicSession,
            by_id["academicSessions.csv"],
            lambda r: {
                "title": r.get("title"),
                "type": r.get("type"),
                "start_date": r.get("startDate"),
                "end_date": r.get("endDate"),
                "active": _active(r),
            },
            report,
            "academic_sessions",
            delta="academicSessions.csv" in delta,
        )
    )
    changes.append(
        _plan(
            session,
            Course,
            by_id["courses.csv"],
            lambda r: {
                "title": r.get("title"),
                "org_id": r.get("orgSourcedId"),
                "active": _active(r),
            },
            report,
            "courses",
            delta="courses.csv" in delta,
        )
    )
    people = _plan(
        session,
        Person,
        by_id["users.csv"],
        lambda r: _person_fields(r, org_types),
        report,
        "people",
        delta="users.csv" in delta,
    )
    changes.append(people)
    changes.append(
        _plan(
            session,
            SchoolClass,
            by_id["classes.csv"],
            lambda r: {
                "title": r.get("title"),
                "school_id": r.get("schoolSourcedId"),
                "course_id": r.get("courseSourcedId") or None,
                "grades": r.get("grades") or None,
                "active": _active(r),
            },
            report,
            "classes",
            delta="classes.csv" in delta,
        )
    )
    changes.append(
        _plan(
            session,
            Enrollment,
            by_id["enrollments.csv"],
            lambda r: {
                "class_id": r.get("classSourcedId"),
                "person_id": r.get("userSourcedId"),
                "role": r.get("role"),
                "primary": r.get("primary").lower() == "true",
                "active": _active(r),
            },
            report,
            "enrollments",
            delta="enrollments.csv" in delta,
        )
    )
    return report, changes, _badges_to_issue(session, settings, people)


def _badges_to_issue(session: Session, settings: Settings, people: _Change) -> int:
    """How many students would have no badge once ``people`` is written: active, in a badge grade."""
    now = session.execute(select(Person.id, Person.role, Person.grade, Person.active)).mappings()
    final = {row["id"]: dict(row) for row in now}
    for values in [*people.inserts, *people.updates]:
        final.setdefault(values["id"], {}).update(values)
    for key in people.deactivate:
        final[key]["active"] = False
    have = set(
        session.scalars(
            select(Badge.person_id).where(Badge.kind == BadgeKind.BADGE, Badge.status == BadgeStatus.ACTIVE)
        )
    )
    return sum(
        1
        for key, person in final.items()
        if key not in have and eligible(person["active"], person["role"], person["grade"], settings)
    )


def last_import(session: Session) -> ImportRun | None:
    """The latest import, with its report."""
    return session.scalars(select(ImportRun).order_by(ImportRun.id.desc())).first()
