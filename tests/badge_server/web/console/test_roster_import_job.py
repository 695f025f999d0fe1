"""A long roster upload in the console: the upload answers at once with the import's page, which
shows the step and how far it got (reloading itself) until the report; a second upload meanwhile
is refused, naming who started the first; an import left unfinished by a restart says so."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from badge_server import clock, roster_jobs
from badge_server.runtime import Runtime
from badge_server.staff import create_staff
from badge_server.store.db import read_only_transaction, transaction
from badge_server.store.models import Badge
from benchmarks.roster_import import write_roster
from tests.support.servers import LoopbackServer
from tests.support.staff import PASSWORD, csrf_of, sign_in_setting_up_totp, until_imported

STUDENTS = 2000  # badges issued at 1-4 ms each: seconds of progress to watch


@pytest.fixture
def admin(runtime: Runtime, server: LoopbackServer) -> Iterator[httpx.Client]:
    with transaction(runtime.factory) as db:
        create_staff(db, "it-admin", PASSWORD, "district_admin", actor="test")
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as client:
        sign_in_setting_up_totp(client, "it-admin")
        yield client


def upload(admin: httpx.Client, folder: Path, **form: str) -> httpx.Response:
    csrf = csrf_of(admin.get("/staff/admin"))
    files = [("files", (path.name, path.read_bytes())) for path in sorted(folder.iterdir())]
    return admin.post("/staff/admin/roster", data={"csrf": csrf, **form}, files=files)


def test_a_long_import_shows_its_progress_then_its_report(
    admin: httpx.Client, runtime: Runtime, tmp_path: Path
) -> None:
    write_roster(tmp_path / "district", STUDENTS)
    page = upload(admin, tmp_path / "district")
    assert page.status_code == 200 and re.fullmatch(r"/staff/admin/roster/jobs/[0-9a-f]{32}", page.url.path)
    seen = []
    deadline = time.monotonic() + 120
    while "data-running" in page.text:
        assert '<meta http-equiv="refresh" content="1">' in page.text, "the page follows the import by itself"
        seen.append(" ".join(page.text.split("data-running>", 1)[1].split("</p>", 1)[0].split()))
        again = upload(admin, tmp_path / "district")
        if "data-running" not in again.text:  # the import may have finished in between
            assert again.status_code == 400 and "an import started by it-admin is still running" in again.text
        assert time.monotonic() < deadline, seen
        time.sleep(0.2)
        page = admin.get(page.url)
    issuing = [line for line in seen if "issuing badges, " in line]
    assert issuing, f"badges are issued over seconds, and the page showed it: {seen}"
    counted = [int(re.search(r"issuing badges, ([\d,]+) of 2,000", line)[1].replace(",", "")) for line in issuing]  # type: ignore[index]
    assert counted == sorted(counted) and counted[-1] < STUDENTS
    assert "<progress" not in page.text and "refresh" not in page.text
    assert "Imported. 2000 new badges issued." in page.text
    with read_only_transaction(runtime.factory) as db:
        assert db.scalar(select(func.count()).select_from(Badge)) == STUDENTS


def test_problems_come_back_on_the_imports_page_and_nothing_changes(
    admin: httpx.Client, runtime: Runtime, tmp_path: Path
) -> None:
    write_roster(tmp_path / "district", 50)
    users = tmp_path / "district" / "users.csv"
    users.write_text(users.read_text().replace(",student,", ",pupil,"))
    page = until_imported(admin, upload(admin, tmp_path / "district"))
    assert page.status_code == 422 and "The roster was not imported: 50 problems" in page.text
    assert page.text.count("<td>users.csv</td>") == 50 and "Nothing was changed" in page.text


def test_an_import_stopped_by_a_restart_says_so(runtime: Runtime, admin: httpx.Client) -> None:
    with transaction(runtime.factory) as db:
        job = roster_jobs.start_job(db, started_by="it-admin", source="users.csv", preview=False)
    clock.advance(roster_jobs.SILENT_LIMIT + timedelta(seconds=1))
    page = admin.get(f"/staff/admin/roster/jobs/{job.id}")
    assert page.status_code == 500 and "stopped without finishing (was the server restarted?)" in page.text
    with transaction(runtime.factory) as db:
        assert roster_jobs.running_job(db) is None, "it no longer holds up the next upload"
