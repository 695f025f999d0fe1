"""``badge-print`` as a district that keeps badges elsewhere runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from badge_printing import BUILT_IN
from tests.support.pdf import page_text, payloads_by_label

CLI = [sys.executable, "-c", "from badge_printing.cli import main; main()"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False)


def test_csv_to_pdf_with_every_badge_in_place(tmp_path: Path) -> None:
    rows = ["name,payload,class,school,expires,reference"]
    rows += [f"Student {n:02d},DISTRICT-ID-{n:04d},Room 9,Hill School,2027-06-30,R{n}" for n in range(12)]
    (tmp_path / "cards.csv").write_text("\ufeff" + "\n".join(rows) + "\n", encoding="utf-8")
    done = run("--csv", "cards.csv", "--template", "avery-5371", "-o", "out.pdf", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "12 badges on avery-5371" in done.stdout
    pdf = (tmp_path / "out.pdf").read_bytes()
    template = BUILT_IN["avery-5371"]
    first = payloads_by_label(pdf, 1, template, 150)
    assert first == {n: f"DISTRICT-ID-{n:04d}" for n in range(10)}
    assert "Hill School" in page_text(pdf, 1)


def test_bad_rows_are_all_reported_and_no_pdf_is_written(tmp_path: Path) -> None:
    (tmp_path / "cards.csv").write_text("name,payload,expires\nAnn,X1,2027-01-01\n,X2,\nBo,,June\n", encoding="utf-8")
    done = run("--csv", "cards.csv", "-o", "out.pdf", cwd=tmp_path)
    assert done.returncode == 2
    assert "cards.csv, line 3, column name: value is required but empty" in done.stderr
    assert "cards.csv, line 4, column payload: value is required but empty" in done.stderr
    assert "cards.csv, line 4, column expires: 'June' is not a YYYY-MM-DD date" in done.stderr
    assert not (tmp_path / "out.pdf").exists()
    assert list(tmp_path.glob("*.partial")) == []


def test_list_templates_calibration_and_unknown_template(tmp_path: Path) -> None:
    listed = run("--list-templates", cwd=tmp_path)
    assert all(name in listed.stdout for name in BUILT_IN)
    assert "source: gLabels template database" in listed.stdout
    calibration = run("--template", "avery-5395", "--calibration", "-o", "cal.pdf", cwd=tmp_path)
    assert calibration.returncode == 0
    assert "Print at 100%" in page_text((tmp_path / "cal.pdf").read_bytes(), 0)
    unknown = run("--template", "avery-9999", "--calibration", "-o", "x.pdf", cwd=tmp_path)
    assert unknown.returncode == 2 and "no template named 'avery-9999'" in unknown.stderr
