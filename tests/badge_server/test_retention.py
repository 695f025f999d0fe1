"""Retention: the nightly purge and purge-people, run as IT runs them (the command line) against
the real server's database after real sign-ins (a kiosk, and an app through OpenID Connect), on
SQLite and PostgreSQL. Time moves with the server's clock."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from badge_server import clock, retention
from badge_server.clock import utcnow
from badge_server.roster import import_roster
from badge_server.staff import disable_staff
from badge_server.store.db import transaction
from badge_server.store.models import AuditEvent, Base, Person, StaffUser
from badge_server.store.sso_models import Subject
from tests.support.api import error_code, exchange, sign_in
from tests.support.cli import run_against
from tests.support.database import DEMO_ROSTER
from tests.support.district import District
from tests.support.oidc_app import RelyingParty, browser_for, register_app, sign_in_through_scan
from tests.support.servers import LoopbackServer
from tests.support.staff import add_staff

JOSE = "st-0001"  # José García, Kindergarten, Maple Street
MARIA = "st-0002"
RIVERA = "t-rivera"  # José's teacher


def rows(district: District) -> dict[str, int]:
    with transaction(district.runtime.factory) as session:
        return {
            name: session.scalar(select(func.count()).select_from(table)) or 0
            for name, table in Base.metadata.tables.items()
        }


def signed_in_to_an_app(server: LoopbackServer, district: District, person_id: str) -> None:
    """A student signs in to an app with OpenID Connect through the scanner page: a waiting sign-in,
    a launch code, a session, a code, a token and the app's sign-in are all left behind."""
    rp = RelyingParty(server.url, register_app(district.runtime))
    with browser_for(server.url, district) as browser:
        location = sign_in_through_scan(browser, district, person_id, rp.authorize_url())
        rp.redeem(rp.callback(location)["code"])


def purge(district: District) -> dict[str, int]:
    report = json.loads(run_against(district.runtime, "purge", "--json").stdout)
    removed: dict[str, int] = report["removed"]
    return removed


def test_the_nightly_purge_removes_each_kind_once_past_its_retention_and_audits_the_cut(
    server: LoopbackServer, district: District, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 3)  # a district's year of rows goes in many transactions
    signed_in_to_an_app(server, district, JOSE)
    started = rows(district)
    for table in ("pending_sign_ins", "launch_codes", "student_sessions", "oidc_codes", "oidc_tokens", "sso_sign_ins"):
        assert started[table] >= 1, table
    day_zero_audit = started["audit_events"]

    clock.advance(timedelta(days=6))  # codes expired 6 days ago: kept (BADGE_RETAIN_CODES_DAYS=7)
    assert not any(purge(district).values())
    clock.advance(timedelta(days=2))
    removed = purge(district)
    assert {t: removed[t] for t in ("launch_codes", "pending_sign_ins", "oidc_tokens", "oidc_codes")} == {
        t: started[t] for t in ("launch_codes", "pending_sign_ins", "oidc_tokens", "oidc_codes")
    }
    now = rows(district)
    assert now["launch_codes"] == now["oidc_codes"] == now["oidc_tokens"] == now["pending_sign_ins"] == 0
    assert now["student_sessions"] == started["student_sessions"], "sessions ended 8 days ago are kept for 30"
    assert now["sso_sign_ins"] == started["sso_sign_ins"]

    clock.advance(timedelta(days=23))  # the sessions ended 30 days and some hours ago
    removed = purge(district)
    assert removed["student_sessions"] == started["student_sessions"]
    assert removed["sso_sign_ins"] == started["sso_sign_ins"]
    assert rows(district)["student_sessions"] == 0
    # What made those sessions is untouched: José signs in again with the same badge.
    sign_in(http, district.device_token, district.payloads[JOSE])

    clock.advance(timedelta(days=370))  # 401 days after the first sign-in: its audit rows are due
    cut = utcnow() - timedelta(days=400)
    removed = purge(district)
    assert removed["audit_events"] == day_zero_audit
    with transaction(district.runtime.factory) as session:
        oldest = session.scalar(select(func.min(AuditEvent.at)))
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
        kept_purges = session.scalar(select(func.count()).where(AuditEvent.kind == "retention.purge"))
    assert oldest is not None and oldest >= cut, "what is left runs unbroken from the cut to now"
    assert last.kind == "retention.purge" and last.actor == "cli"
    assert last.detail["removed"]["audit_events"] == day_zero_audit
    assert last.detail["cutoffs"]["audit events before"].startswith(cut.date().isoformat())
    assert kept_purges == 4, "each purge left its own row, and none was old enough to go"


def test_the_text_report_names_what_went_and_says_when_nothing_was_due(district: District) -> None:
    text = run_against(district.runtime, "purge").stdout
    assert text.startswith("purged audit events before ")
    assert "codes expired before" in text and "sessions ended before" in text
    assert "nothing was due" in text


def leaving(district: District, tmp_path: Path, *people: str) -> Path:
    """The demo roster without ``people`` (and their enrollments): they left the district."""
    roster = tmp_path / "roster"
    shutil.copytree(DEMO_ROSTER, roster)
    for name in ("users.csv", "enrollments.csv"):
        lines = (roster / name).read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if not any(f"{person}," in line for person in people)]
        (roster / name).write_text("".join(kept), encoding="utf-8")
    import_roster(district.runtime.factory, roster, district.runtime.keys, district.runtime.settings, actor="test")
    return roster


def test_purge_people_removes_who_left_with_all_they_left_behind_and_keeps_the_audit_trail(
    server: LoopbackServer, district: District, http: httpx.Client, tmp_path: Path
) -> None:
    runtime = district.runtime
    signed_in_to_an_app(server, district, JOSE)
    add_staff(district, "lrivera", "teacher", person_id=RIVERA)
    add_staff(district, "old-admin", "district_admin")
    with transaction(runtime.factory) as session:
        old_admin = session.scalars(select(StaffUser).where(StaffUser.username == "old-admin")).one()
        disable_staff(session, old_admin, actor="test")
    leaving(district, tmp_path, JOSE, RIVERA)
    with transaction(runtime.factory) as session:
        jose = session.get(Person, JOSE)
        assert jose is not None and not jose.active and jose.deactivated_at is not None
        audit_about_jose = session.scalar(select(func.count()).where(AuditEvent.person_id == JOSE))
    before = rows(district)

    clock.advance(timedelta(days=2))
    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
    dry = run_against(runtime, "purge-people", "--left-before", yesterday, "--dry-run").stdout
    assert dry.startswith(f"would remove (dry run, nothing changed) 2 people who left before {yesterday}")
    assert f"person {JOSE}" in dry and f"person {RIVERA}" in dry
    assert "staff account lrivera" in dry and "staff account old-admin" in dry
    assert rows(district) == before

    done = json.loads(run_against(runtime, "purge-people", "--left-before", yesterday, "--json").stdout)
    assert sorted(done["people"]) == [JOSE, RIVERA] and sorted(done["staff_accounts"]) == ["lrivera", "old-admin"]
    assert done["removed"]["badges"] >= 1 and done["removed"]["student_sessions"] >= 1
    assert done["removed"]["oidc_tokens"] >= 1 and done["removed"]["enrollments"] >= 2
    after = rows(district)
    assert after["people"] == before["people"] - 2
    assert after["staff_users"] == before["staff_users"] - 2
    assert after["student_sessions"] == after["oidc_tokens"] == after["subjects"] == 0
    with transaction(runtime.factory) as session:
        assert session.get(Person, JOSE) is None and session.get(Subject, JOSE) is None
        assert session.scalar(select(func.count()).where(AuditEvent.person_id == JOSE)) == audit_about_jose
        kinds = set(session.scalars(select(AuditEvent.kind).where(AuditEvent.kind.like("%.purge"))))
    assert kinds == {"people.purge", "staff.purge"}
    # José's badge names no one now; everyone else signs in as before.
    refused = exchange(http, district.device_token, district.payloads[JOSE])
    assert refused.status_code == 403 and error_code(refused) == "badge_not_accepted"
    sign_in(http, district.device_token, district.payloads[MARIA])


def test_purge_people_spares_who_came_back_and_refuses_a_date_to_come(district: District, tmp_path: Path) -> None:
    runtime = district.runtime
    leaving(district, tmp_path, JOSE)
    import_roster(runtime.factory, DEMO_ROSTER, runtime.keys, runtime.settings, actor="test")  # José is back
    with transaction(runtime.factory) as session:
        jose = session.get(Person, JOSE)
        assert jose is not None and jose.active and jose.deactivated_at is None
    clock.advance(timedelta(days=2))
    today = utcnow().date().isoformat()
    kept = json.loads(run_against(runtime, "purge-people", "--left-before", today, "--json").stdout)
    assert kept["people"] == []
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    refused = run_against(runtime, "purge-people", "--left-before", tomorrow, ok=False)
    assert refused.returncode == 2
    assert f"--left-before {tomorrow} is after today" in refused.stderr
    bad = run_against(runtime, "purge-people", "--left-before", "last june", ok=False)
    assert "'last june' does not match the format '%Y-%m-%d'" in bad.stderr
