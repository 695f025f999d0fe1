"""The lock files (scripts/lock) match pyproject.toml, and a dependency changed without a new lock
fails scripts/check with what to do."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.packaging import ROOT


def check(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(tree / "scripts" / "lock"), "--check"], capture_output=True, text=True, check=False
    )


def test_a_dependency_added_without_a_new_lock_fails_the_check(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "lock", tmp_path / "scripts" / "lock")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    assert check(tmp_path).returncode == 0, "the committed locks match the committed pyproject.toml"
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('    "click>=8.1",\n', '    "click>=8.1",\n    "rich>=13",\n'))
    failed = check(tmp_path)
    assert failed.returncode == 1
    assert "requirements/server.lock" in failed.stderr and "run scripts/lock" in failed.stderr
    for lock in ("server", "kiosk", "demo", "dev"):
        text = (ROOT / "requirements" / f"{lock}.lock").read_text()
        assert "--hash=sha256:" in text and "\nsetuptools==" in text
