"""OneRoster import: good files, real-world CSV quirks, and every kind of bad file."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from badge_server.errors import RosterImportError
from badge_server.roster import import_roster
from badge_server.runtime import Runtime
from badge_server.store.db import transaction
from badge_server.store.models import AuditEvent, Badge, Person
from tests.support.api import error_code, exchange, exchange_while_held
from tests.support.database import DEMO_ROSTER, snapshot
from tests.support.district import District
from tests.support.servers import LoopbackServer

Rows = list[dict[str, str]]


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    folder = tmp_path / "roster"
    shutil.copytree(DEMO_ROSTER, folder)
    return folder


def edit(
    folder: Path, file: str, change: Callable[[Rows], Rows | None], *, fieldnames: list[str] | None = None
) -> None:
    path = folder / file
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        names = list(fieldnames or reader.fieldnames or [])
        rows = list(reader)
    rows = change(rows) or rows
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def run_import(runtime: Runtime, folder: Path) -> dict[str, Any]:
    report = import_roster(runtime.factory, folder, runtime.keys, runtime.settings, actor="test")
    return report.as_dict()


def test_import_creates_everything_and_issues_badges_to_eligible_students(runtime: Runtime, roster: Path) -> None:
    report = run_import(runtime, roster)
    assert report["created"] == {
        "orgs": 3,
        "academic_sessions": 1,
        "courses": 4,
        "people": 44,
        "classes": 4,
        "enrollments": 44,
    }
    assert report["badges_issued"] == 40  # 40 students in PK-5; the 4 teachers get none
    with transaction(runtime.factory) as session:
        names = set(session.scalars(select(Person.given_name)))
        assert {"Zoë", "Аня", "Σοφία", "محمد", "נועה", "小明", "さくら", "민준"} <= names
        wang = session.get(Person, "st-0021")
        assert wang is not None and wang.display_name == "王小明"
        audit_rows = session.scalar(select(func.count()).where(AuditEvent.kind == "roster.import"))
        assert audit_rows == 1


def test_reimporting_the_same_roster_changes_nothing(runtime: Runtime, roster: Path) -> None:
    run_import(runtime, roster)
    before = snapshot(runtime)
    again = run_import(runtime, roster)
    assert set(again["created"].values()) == {0}
    assert set(again["updated"].values()) == {0}
    assert again["badges_issued"] == 0
    after = snapshot(runtime)
    assert after["badges"] == before["badges"] and after["people"] == before["people"]


def test_reimport_updates_changes_and_deactivates_people_who_left_keeping_history(
    http: httpx.Client, district: District, roster: Path
) -> None:
    runtime = district.runtime
    leaver = "st-0002"
    edit(
        roster,
        "users.csv",
        lambda rows: [
            {**r, "givenName": "Josefina"} if r["sourcedId"] == "st-0001" else r
            for r in rows
            if r["sourcedId"] != leaver
        ],
    )
    edit(roster, "enrollments.csv", lambda rows: [r for r in rows if r["userSourcedId"] != leaver])
    report = run_import(runtime, roster)
    assert report["updated"]["people"] == 1
    assert report["deactivated"]["people"] == 1
    with transaction(runtime.factory) as session:
        gone = session.get(Person, leaver)
        assert gone is not None and gone.active is False  # still there, history kept
        assert session.scalar(select(func.count()).where(Badge.person_id == leaver)) == 1
    # The badge of someone who left no longer signs in, with the same answer as an unknown badge.
    answer = exchange(http, district.device_token, district.payloads[leaver])
    assert answer.status_code == 403 and error_code(answer) == "badge_not_accepted"
    renamed = exchange(http, district.device_token, district.payloads["st-0001"])
    assert renamed.json()["user"]["first_name"] == "Josefina"


def test_real_world_csv_bom_extra_columns_empty_optionals_and_no_optional_files(runtime: Runtime, roster: Path) -> None:
    users = roster / "users.csv"
    text = users.read_text(encoding="utf-8")
    header, *rest = text.split("\r\n" if "\r\n" in text else "\n")
    users.write_text(
        "\ufeff" + header + ",favouriteColour\n" + "\n".join(line + ",blue" for line in rest if line), encoding="utf-8"
    )
    (roster / "courses.csv").unlink()
    (roster / "academicSessions.csv").unlink()
    edit(roster, "orgs.csv", lambda rows: [{**r, "identifier": "", "dateLastModified": ""} for r in rows])
    report = run_import(runtime, roster)
    assert report["created"]["people"] == 44


def problems_of(runtime: Runtime, roster: Path) -> list[str]:
    before = snapshot(runtime)
    with pytest.raises(RosterImportError) as caught:
        run_import(runtime, roster)
    assert snapshot(runtime) == before, "a refused import must change nothing"
    assert "nothing was changed" in str(caught.value)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (
            lambda f: edit(f, "users.csv", lambda rows: [{**rows[5], "givenName": ""}, *rows[1:]]),
            "users.csv, line 2, column givenName: value is required but empty",
        ),
        (
            lambda f: edit(
                f,
                "users.csv",
                lambda rows: [{**r, "role": "wizard"} if r["sourcedId"] == "st-0003" else r for r in rows],
            ),
            "users.csv, line 8, column role: 'wizard' is not one of",
        ),
        (
            lambda f: edit(
                f, "users.csv", lambda rows: [{**r, "grades": "K"} if r["sourcedId"] == "st-0003" else r for r in rows]
            ),
            "users.csv, line 8, column grades: 'K' is not a OneRoster grade code",
        ),
        (
            lambda f: edit(
                f, "enrollments.csv", lambda rows: [*rows, {**rows[0], "sourcedId": "e-x", "userSourcedId": "ghost"}]
            ),
            "enrollments.csv, line 46, column userSourcedId: user 'ghost' is not in the roster",
        ),
        (
            lambda f: edit(f, "classes.csv", lambda rows: [*rows, rows[0]]),
            "classes.csv, line 6, column sourcedId: 'k-maple-kg' already used on line 2",
        ),
        (
            lambda f: edit(f, "users.csv", lambda rows: None, fieldnames=["sourcedId", "role", "username"]),
            "users.csv, line 1, column givenName: required column is missing from the header",
        ),
        (
            lambda f: (f / "enrollments.csv").unlink(),
            "enrollments.csv: required file is missing from the roster folder",
        ),
        (
            lambda f: (f / "orgs.csv").write_bytes(
                "sourcedId,name,type\ns1,Escuela Peñ".encode("latin-1") + b"a,school\n"
            ),
            "orgs.csv, line 2: not UTF-8 text (bad byte 0xf1); save as UTF-8",
        ),
        (
            lambda f: (f / "classes.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
            "classes.csv, line 3: a NUL byte: the file is binary",
        ),
        (
            lambda f: edit(
                f,
                "manifest.csv",
                lambda rows: [{**r, "value": "partial"} if r["propertyName"] == "file.users" else r for r in rows],
            ),
            "manifest.csv, column value: file.users is 'partial'; expected bulk, delta or absent",
        ),
        (
            lambda f: (f / "orgs.csv").write_text('sourcedId,name,type\n"s1,Broken school,school\n', encoding="utf-8"),
            "orgs.csv, line 2: CSV syntax error",
        ),
    ],
    ids=[
        "empty-required",
        "bad-role",
        "bad-grade",
        "unknown-reference",
        "duplicate-id",
        "missing-column",
        "missing-file",
        "not-utf8",
        "binary",
        "manifest-mode",
        "csv-syntax",
    ],
)
def test_each_kind_of_bad_file_is_refused_naming_file_line_and_column(
    runtime: Runtime, roster: Path, breakage: Callable[[Path], None], expected: str
) -> None:
    run_import(runtime, DEMO_ROSTER)  # a district that already has data must keep it unchanged
    breakage(roster)
    problems = problems_of(runtime, roster)
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_reported_at_once(runtime: Runtime, roster: Path) -> None:
    edit(roster, "users.csv", lambda rows: [{**r, "role": "pirate"} for r in rows])
    problems = problems_of(runtime, roster)
    assert len([p for p in problems if "pirate" in p]) == 44


def test_not_a_folder_is_a_clear_error(runtime: Runtime, tmp_path: Path) -> None:
    assert problems_of(runtime, tmp_path / "nowhere") == [
        f"{tmp_path / 'nowhere'}: not a folder of OneRoster CSV files"
    ]


def leave(roster: Path, students: set[str]) -> None:
    """The roster as if these students had left (or the export had lost them)."""
    edit(roster, "users.csv", lambda rows: [r for r in rows if r["sourcedId"] not in students])
    edit(roster, "enrollments.csv", lambda rows: [r for r in rows if r["userSourcedId"] not in students])


def maple_students(runtime: Runtime) -> set[str]:
    with transaction(runtime.factory) as session:
        found = session.scalars(
            select(Person.id).where(Person.school_id == "s-maple", Person.role == "student", Person.active)
        )
        return set(found)


def test_a_truncated_export_is_refused_naming_the_school_and_its_numbers_and_changes_nothing(
    district: District, roster: Path
) -> None:
    """Issue 17: a truncated SIS export would have deactivated a school's students overnight."""
    runtime = district.runtime
    before = snapshot(runtime)
    leave(roster, set(sorted(maple_students(runtime))[-12:]))
    with pytest.raises(RosterImportError) as refused:
        run_import(runtime, roster)
    message = str(refused.value)
    assert "would deactivate 12 of the 20 active students of Maple Street Elementary (s-maple), 60%" in message
    assert "more than the 10% allowed" in message and "--allow-mass-deactivation" in message
    assert "Lakeview" not in message, "only the school that loses too many is named"
    assert snapshot(runtime) == before
    report = import_roster(
        runtime.factory, roster, runtime.keys, runtime.settings, actor="test", allow_mass_deactivation=True
    )
    assert report.schools["s-maple"].deactivated == 12 and report.schools["s-maple"].active_before == 20
    assert report.schools["s-lake"].deactivated == 0
    assert len(maple_students(runtime)) == 8


def test_a_few_leavers_or_a_share_under_the_setting_import_without_confirmation(
    district: District, roster: Path
) -> None:
    runtime = district.runtime
    leave(roster, set(sorted(maple_students(runtime))[-4:]))  # 20%, but only 4: a normal week
    assert run_import(runtime, roster)["schools"]["s-maple"]["deactivated"] == 4
    lenient = Runtime(
        runtime.settings.model_copy(update={"roster_max_deactivation_share": 0.5}),
        runtime.keys,
        runtime.engine,
        runtime.factory,
    )
    leave(roster, set(sorted(maple_students(runtime))[-7:]))  # 7 of the 16 left: 44%, under 50%
    report = import_roster(lenient.factory, roster, lenient.keys, lenient.settings, actor="test")
    assert report.schools["s-maple"].deactivated == 7


ROSTER_1_2 = Path(__file__).parent / "data" / "oneroster-1.2"


@pytest.fixture
def roster_1_2(tmp_path: Path) -> Path:
    """The demo district as a OneRoster 1.2 export: roles in roles.csv, plus a principal of Maple
    Street who also teaches at Lakeview (a secondary role)."""
    folder = tmp_path / "roster-1.2"
    shutil.copytree(ROSTER_1_2, folder)
    return folder


def test_a_one_roster_1_2_export_imports_like_its_1_1_twin(runtime: Runtime, roster: Path, roster_1_2: Path) -> None:
    report = run_import(runtime, roster_1_2)
    assert report["created"]["people"] == 45 and report["badges_issued"] == 40
    with transaction(runtime.factory) as session:
        principal = session.get(Person, "a-principal")
        assert principal is not None and principal.role == "administrator" and principal.school_id == "s-maple"
        assert principal.first_name == "Pat", "preferredGivenName"
        teacher = session.get(Person, "t-rivera")
        assert teacher is not None and teacher.role == "teacher" and teacher.school_id == "s-maple"
    # The same district exported as 1.1 changes nobody but the principal it does not have.
    again = run_import(runtime, roster)
    assert again["updated"]["people"] == 0 and again["deactivated"]["people"] == 1


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (
            lambda f: edit(
                f,
                "roles.csv",
                lambda rows: [{**r, "role": "wizard"} if r["userSourcedId"] == "st-0003" else r for r in rows],
            ),
            "roles.csv, line 8, column role: 'wizard' is not one of",
        ),
        (
            lambda f: edit(f, "roles.csv", lambda rows: [r for r in rows if r["userSourcedId"] != "st-0003"]),
            "users.csv, line 8, column sourcedId: this user has no role in roles.csv",
        ),
        (
            lambda f: edit(
                f, "roles.csv", lambda rows: [*rows, {**rows[0], "sourcedId": "r-x", "userSourcedId": "ghost"}]
            ),
            "roles.csv, line 48, column userSourcedId: user 'ghost' is not in users.csv",
        ),
        (
            lambda f: edit(f, "roles.csv", lambda rows: [{**rows[0], "roleType": "main"}, *rows[1:]]),
            "roles.csv, line 2, column roleType: 'main' is not one of primary, secondary",
        ),
        (
            lambda f: (f / "roles.csv").unlink(),
            "roles.csv: required file is missing from the roster folder",
        ),
        (
            lambda f: edit(
                f,
                "manifest.csv",
                lambda rows: [{**r, "value": "1.3"} if r["propertyName"] == "oneroster.version" else r for r in rows],
            ),
            "manifest.csv, column value: oneroster.version '1.3' is not supported (1.0, 1.1 or 1.2)",
        ),
    ],
    ids=["unknown-role", "user-without-role", "role-of-nobody", "role-type", "no-roles-file", "version"],
)
def test_each_kind_of_bad_1_2_file_is_refused_naming_file_line_and_column(
    runtime: Runtime, roster_1_2: Path, breakage: Callable[[Path], None], expected: str
) -> None:
    breakage(roster_1_2)
    problems = problems_of(runtime, roster_1_2)
    assert any(p.startswith(expected) for p in problems), problems


DELTA_MANIFEST = """propertyName,value
manifest.version,1.0
oneroster.version,{version}
file.academicSessions,absent
file.classes,absent
file.courses,absent
file.enrollments,{enrollments}
file.orgs,absent
file.users,delta
"""


def delta_folder(tmp_path: Path, users: str, enrollments: str = "", *, version: str = "1.1", roles: str = "") -> Path:
    """A delta export as a SIS sends one overnight: only the rows that changed."""
    folder = tmp_path / "delta"
    folder.mkdir()
    mode = "delta" if enrollments else "absent"
    (folder / "manifest.csv").write_text(DELTA_MANIFEST.format(version=version, enrollments=mode), encoding="utf-8")
    (folder / "users.csv").write_text(users, encoding="utf-8")
    if enrollments:
        (folder / "enrollments.csv").write_text(enrollments, encoding="utf-8")
    if version == "1.2":
        (folder / "roles.csv").write_text(roles, encoding="utf-8")
    return folder


USERS_1_1 = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,givenName,familyName,grades\n"
ENROLLMENTS = "sourcedId,status,classSourcedId,schoolSourcedId,userSourcedId,role,primary\n"


def test_a_delta_changes_only_the_rows_it_lists(runtime: Runtime, roster: Path, tmp_path: Path) -> None:
    run_import(runtime, roster)
    before = snapshot(runtime)
    folder = delta_folder(
        tmp_path,
        USERS_1_1
        + "st-0001,active,2026-12-03,true,s-maple,student,s00002,Josefina,García,KG\n"
        + "st-0002,tobedeleted,2026-12-03,true,s-maple,student,s00003,Zoë,Müller,KG\n"
        + "st-0099,active,2026-12-03,true,s-maple,student,s00100,Nia,Adeyemi,KG\n",
        ENROLLMENTS + "e-st-0099,active,k-maple-kg,s-maple,st-0099,student,false\n",
    )
    report = run_import(runtime, folder)
    assert (report["created"]["people"], report["updated"]["people"], report["deactivated"]["people"]) == (1, 1, 1)
    assert report["badges_issued"] == 1 and report["created"]["enrollments"] == 1
    assert report["schools"]["s-maple"] == {
        "name": "Maple Street Elementary",
        "active_before": 20,
        "added": 1,
        "deactivated": 1,
    }
    after = snapshot(runtime)
    assert after["people"] == before["people"] + 1 and after["active_people"] == before["active_people"]
    assert after["classes"] == before["classes"] and after["enrollments"] == before["enrollments"] + 1
    with transaction(runtime.factory) as session:
        jose, zoe = session.get(Person, "st-0001"), session.get(Person, "st-0002")
        assert jose is not None and jose.given_name == "Josefina" and jose.active
        assert zoe is not None and not zoe.active and zoe.deactivated_at is not None
        untouched = session.get(Person, "st-0005")
        assert untouched is not None and untouched.active, "a delta's missing rows are unchanged, not gone"


def test_a_delta_may_refer_to_what_the_database_has_but_not_to_nothing(
    runtime: Runtime, roster: Path, tmp_path: Path
) -> None:
    run_import(runtime, roster)
    folder = delta_folder(
        tmp_path,
        USERS_1_1 + "st-0099,active,2026-12-03,true,s-maple,student,s00100,Nia,Adeyemi,KG\n",
        ENROLLMENTS
        + "e-st-0099,active,k-maple-kg,s-maple,st-0099,student,false\n"
        + "e-st-0005-x,active,k-nowhere,s-maple,st-0005,student,false\n",
    )
    assert problems_of(runtime, folder) == [
        "enrollments.csv, line 3, column classSourcedId: class 'k-nowhere' is not in the roster"
    ]


def test_a_delta_deactivating_a_schools_students_is_refused_like_a_truncated_export(
    runtime: Runtime, roster: Path, tmp_path: Path
) -> None:
    run_import(runtime, roster)
    leaving = "".join(
        f"st-{n:04d},tobedeleted,2026-12-03,true,s-maple,student,s{n + 1:05d},Child,{n},KG\n" for n in range(1, 13)
    )
    problems = problems_of(runtime, delta_folder(tmp_path, USERS_1_1 + leaving))
    assert problems[0].startswith(
        "users.csv: this import would deactivate 12 of the 20 active students of Maple Street Elementary (s-maple), 60%"
    )


def test_a_1_2_delta_keeps_the_role_and_school_of_a_user_whose_roles_did_not_change(
    runtime: Runtime, roster_1_2: Path, tmp_path: Path
) -> None:
    run_import(runtime, roster_1_2)
    header = (ROSTER_1_2 / "users.csv").read_text(encoding="utf-8").splitlines()[0]
    renamed = "t-rivera,active,2026-12-03,true,lrivera,,Lucía,Rivera-Soto,,,lrivera@riverside.example,,,,,,,,,,,,\n"
    roles_header = (ROSTER_1_2 / "roles.csv").read_text(encoding="utf-8").splitlines()[0] + "\n"
    folder = delta_folder(tmp_path, header + "\n" + renamed, version="1.2", roles=roles_header)
    report = run_import(runtime, folder)
    assert report["updated"]["people"] == 1 and report["deactivated"]["people"] == 0
    with transaction(runtime.factory) as session:
        rivera = session.get(Person, "t-rivera")
        assert rivera is not None and rivera.family_name == "Rivera-Soto"
        assert rivera.role == "teacher" and rivera.school_id == "s-maple" and rivera.active


def test_a_nul_in_a_cell_that_spans_lines_is_named_at_the_line_its_row_starts(runtime: Runtime, roster: Path) -> None:
    # Found by the property test: a quoted cell with a line break, then a NUL, was named one line late.
    edit(roster, "users.csv", lambda rows: [{**rows[0], "givenName": "Ana\n\x00"}, *rows[1:]])
    assert problems_of(runtime, roster) == [
        "users.csv, line 2, column givenName: a NUL byte: the file is binary, or this cell was damaged; not CSV text"
    ]


def test_kiosks_sign_students_in_while_an_import_works_out_its_changes(
    monkeypatch: pytest.MonkeyPatch, server: LoopbackServer, district: District, roster: Path
) -> None:
    # The import is held open after reading everything and working out its changes; a kiosk
    # exchange meanwhile must not wait for it (on SQLite it waited for the import's write lock).
    runtime = district.runtime
    edit(roster, "users.csv", lambda rows: [{**r, "familyName": r["familyName"] + "-Nueva"} for r in rows])
    answer, reports = exchange_while_held(
        monkeypatch,
        "badge_server.roster._badges_to_issue",
        lambda: import_roster(runtime.factory, roster, runtime.keys, runtime.settings, actor="test"),
        server.url,
        district.device_token,
        district.payloads["st-0001"],
    )
    assert answer.status_code == 200, answer.text
    assert reports and reports[0].updated["people"] == 44, "and the import went on to finish"
