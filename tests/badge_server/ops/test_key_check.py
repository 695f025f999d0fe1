"""Issue 15, finding 15: a lost or unmounted server key used to show up only as every badge
"not accepted"; now `init` and the server name it, and `init` never makes a replacement."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from badge_server.keys import write_new_key_file
from tests.support.cli import badge_server
from tests.support.database import DEMO_ROSTER
from tests.support.servers import free_port


def run(args: list[str], data_dir: Path, **env: str) -> tuple[int, str, str]:
    done = badge_server(args, {"BADGE_DATA_DIR": str(data_dir), **env}, cwd=data_dir.parent)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def set_up(tmp_path: Path) -> Path:
    data_dir = tmp_path / "badge-data"
    assert run(["init"], data_dir)[0] == 0
    assert run(["import-roster", str(DEMO_ROSTER), "--json"], data_dir)[0] == 0
    return data_dir


def test_init_refuses_to_make_a_new_key_for_a_database_that_has_badges(set_up: Path) -> None:
    key = set_up / "secret.key"
    key.unlink()  # lost, or a volume not mounted
    status, _, error = run(["init"], set_up)
    assert status == 2
    assert "this database was set up with another server key" in error and f"there is no key at {key}" in error
    assert "restore the original key" in error.lower()
    assert not key.exists(), "no replacement key was made"


def test_the_server_refuses_to_start_with_another_key_and_init_too(set_up: Path) -> None:
    (set_up / "secret.key").unlink()
    write_new_key_file(set_up / "secret.key")  # someone ran a tool that made a fresh one
    for args in (["serve", "--port", str(free_port())], ["init"]):
        status, _, error = run(args, set_up)
        assert status == 2, args
        assert "another server key (check value" in error and "Traceback" not in error


def test_the_right_key_starts_and_the_check_value_reveals_nothing(set_up: Path) -> None:
    key_text = (set_up / "secret.key").read_text().strip()
    assert run(["init"], set_up)[0] == 0  # the same key: fine, again and again
    status, out, _ = run(["enroll-code", "--school", "s-maple", "--json"], set_up)
    assert status == 0 and json.loads(out)["code"]
    with sqlite3.connect(set_up / "badge.db") as db:
        (value,) = db.execute("select value from server_facts where name = 'server_key_check'").fetchone()
    assert len(value) == 16 and value not in key_text
