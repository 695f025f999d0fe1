"""``badge-server import-drop``, as badge-server-roster.timer runs it: a SIS's export left in a drop
folder (loose CSVs or a ZIP) is imported once settled, filed with its report, or refused and filed
with its problems (the command fails, so the unit does); a half-arrived upload waits."""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from badge_server.ops import roster_drop
from tests.support.cli import Ran, badge_server
from tests.support.database import DEMO_ROSTER


def run(args: list[str], data_dir: Path, *, ok: bool = True) -> Ran:
    done = badge_server(args, {"BADGE_DATA_DIR": str(data_dir)}, cwd=data_dir.parent)
    assert (done.returncode == 0) == ok, done.stdout + done.stderr
    return done


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "badge-data"
    run(["init"], folder)
    return folder


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "badge-roster"
    folder.mkdir()
    return folder


def deliver(drop: Path, source: Path = DEMO_ROSTER, *, minutes_ago: float = 10) -> None:
    """What the SIS's SFTP job does: the export's files, written some minutes ago."""
    for csv_file in source.glob("*.csv"):
        shutil.copy(csv_file, drop / csv_file.name)
        then = time.time() - minutes_ago * 60
        os.utime(drop / csv_file.name, (then, then))


def test_a_settled_export_is_imported_and_filed_with_its_report(data_dir: Path, drop: Path) -> None:
    assert run(["import-drop", str(drop)], data_dir).stdout.startswith(f"nothing to import in {drop}")
    deliver(drop)
    (drop / "users.csv.part").write_text("half of tomorrow's upload", encoding="utf-8")  # still arriving: skipped
    done = run(["import-drop", str(drop)], data_dir)
    assert done.stdout.startswith("imported academicSessions.csv, classes.csv, courses.csv, enrollments.csv")
    assert "  badges issued: 40" in done.stdout
    (filed,) = (drop / "imported").iterdir()
    assert json.loads((filed / "report.json").read_text())["created"]["people"] == 44
    assert sorted(p.name for p in drop.iterdir()) == ["imported", "processing", "users.csv.part"]
    again = json.loads(run(["import-drop", "--json", str(drop)], data_dir).stdout)
    assert again["state"] == "empty"


def test_an_upload_still_arriving_waits_for_the_next_run(data_dir: Path, drop: Path) -> None:
    deliver(drop, minutes_ago=0)
    waiting = json.loads(run(["import-drop", "--json", str(drop)], data_dir).stdout)
    assert waiting["state"] == "settling" and "importing once they settle" in waiting["message"]
    assert (drop / "users.csv").exists() and not (drop / "imported").exists()
    assert (
        json.loads(run(["import-drop", "--json", "--settle-seconds", "0", str(drop)], data_dir).stdout)["state"]
        == "imported"
    )


def test_a_zip_is_unpacked_and_old_exports_are_not_kept_for_ever(
    data_dir: Path, drop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(roster_drop, "KEEP", 1)  # an export holds students' names
    for n in range(2):
        with zipfile.ZipFile(drop / f"export-{n}.zip", "w") as archive:
            for csv_file in DEMO_ROSTER.glob("*.csv"):
                archive.write(csv_file, f"oneroster/{csv_file.name}")
        run(["import-drop", "--settle-seconds", "0", str(drop)], data_dir)
        time.sleep(1.1)  # the batches are named by the second
    (kept,) = (drop / "imported").iterdir()
    assert (kept / "export-1.zip").exists() and (kept / "roster" / "users.csv").exists()


def test_a_truncated_export_is_refused_filed_with_its_problems_and_changes_nothing(
    data_dir: Path, drop: Path, tmp_path: Path
) -> None:
    deliver(drop)
    run(["import-drop", str(drop)], data_dir)
    truncated = tmp_path / "truncated"
    shutil.copytree(DEMO_ROSTER, truncated)
    users = (truncated / "users.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (truncated / "users.csv").write_text("".join(u for u in users if ",s-lake,student," not in u), encoding="utf-8")
    enrollments = (truncated / "enrollments.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (truncated / "enrollments.csv").write_text("".join(e for e in enrollments if ",s-lake," not in e), encoding="utf-8")
    deliver(drop, truncated)
    refused = run(["import-drop", str(drop)], data_dir, ok=False)
    assert refused.returncode == 2
    assert "would deactivate 20 of the 20 active students of Lakeview Primary School (s-lake)" in refused.stderr
    (filed,) = (drop / "refused").iterdir()
    assert "Lakeview Primary School" in (filed / "problems.txt").read_text(encoding="utf-8")
    hinted = f"badge-server import-roster --allow-mass-deactivation {filed / 'roster'}"
    assert hinted in refused.stderr
    dry = json.loads(run(["import-roster", "--json", "--dry-run", str(DEMO_ROSTER)], data_dir).stdout)
    assert dry["deactivated"]["people"] == 0, "the refused export deactivated no one"
    # IT looked, and the school really left: the command it was given imports the filed export.
    confirmed = run(hinted.split()[1:], data_dir)
    assert "students at Lakeview Primary School (s-lake): 20 active before, 0 new, 20 deactivated" in confirmed.stdout


def test_a_drop_folder_that_is_not_there_is_named(data_dir: Path, tmp_path: Path) -> None:
    missing = run(["import-drop", str(tmp_path / "nowhere")], data_dir, ok=False)
    assert f"{tmp_path / 'nowhere'} is not a folder" in missing.stderr
