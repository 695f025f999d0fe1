"""``badge-kiosk enroll`` and ``badge-kiosk check`` as IT runs them: real processes, real server."""

from __future__ import annotations

import html
import inspect
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from badge_server import devices
from badge_server.store.db import transaction
from kiosk_client.credentials import FileKeyring, load_token
from kiosk_client.frames import write_badge_video
from tests.support.district import District
from tests.support.servers import LoopbackServer
from tests.support.staff import add_staff, csrf_of, sign_in_setting_up_totp

pytestmark = pytest.mark.runs_long(14)

CLI = [sys.executable, "-c", "from kiosk_client.cli import main; main()"]


def kiosk(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--config", str(config), *args], capture_output=True, text=True, timeout=120, check=False
    )


def write_config(tmp_path: Path, server: LoopbackServer, camera: str) -> Path:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'server_url = "{server.url}"\ncamera = "{camera}"\ntoken_file = "{tmp_path / "state" / "token.json"}"\n',
        encoding="utf-8",
    )
    return config


def test_enroll_then_check_reads_the_badge_video(tmp_path: Path, server: LoopbackServer, district: District) -> None:
    video = tmp_path / "badge.avi"
    write_badge_video(str(video), payload=district.payloads["st-0001"], empty_seconds=0.5, held_seconds=2)
    config = write_config(tmp_path, server, str(video))
    not_yet = kiosk("check", "--json", "--seconds", "1", config=config)
    assert not_yet.returncode == 1
    assert "not enrolled" in json.loads(not_yet.stdout)["problems"][0]
    with transaction(district.runtime.factory) as session:
        code = devices.create_enroll_code(session, "s-lake", minutes=5, actor="admin").code
    enrolled = kiosk("enroll", "--code", code, "--name", "Library kiosk", config=config)
    assert enrolled.returncode == 0, enrolled.stderr
    assert (tmp_path / "state" / "token.json").stat().st_mode & 0o077 == 0
    token = load_token(FileKeyring(tmp_path / "state" / "token.json"))
    assert token not in config.read_text()  # the world-readable config never holds the token
    report = kiosk("check", "--json", "--seconds", "3", "--expect-badge", config=config)
    assert report.returncode == 0, report.stdout + report.stderr
    data = json.loads(report.stdout)
    assert data["ok"] and data["enrolled"] and data["server_reachable"]
    assert (data["width"], data["height"]) == (1280, 720)
    assert data["mode"] == "1280x720 video file at 15 fps"  # write_badge_video's rate
    assert data["badge_frames"] > 0 and data["frames"] > data["badge_frames"]
    assert data["device"]["name"] == "Library kiosk" and data["decode_ms"] > 0


def test_check_fails_with_the_reason_when_no_badge_is_shown(tmp_path: Path, server: LoopbackServer) -> None:
    video = tmp_path / "poster.avi"
    write_badge_video(str(video), payload="https://pbskids.org", empty_seconds=0.2, held_seconds=1)
    config = write_config(tmp_path, server, str(video))
    report = kiosk("check", "--seconds", "1.5", "--expect-badge", config=config)
    assert report.returncode == 1
    assert "no badge was read in 1.5 s" in report.stderr
    missing = kiosk("check", "--seconds", "1", config=write_config(tmp_path, server, str(tmp_path / "none.avi")))
    assert missing.returncode == 1 and "cannot open camera" in missing.stderr


def test_a_used_enrolment_code_is_refused_clearly(tmp_path: Path, server: LoopbackServer) -> None:
    config = write_config(tmp_path, server, "0")
    refused = kiosk("enroll", "--code", "AAAAA-BBBBB", config=config)
    assert refused.returncode == 2
    assert "the server refused the code" in refused.stderr and "single use" in refused.stderr


def test_demo_setup_of_a_folder_without_a_demo_district_names_what_is_missing(tmp_path: Path) -> None:
    made = subprocess.run(
        [*CLI, "demo-setup", str(tmp_path), "--server", "http://127.0.0.1:8000"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 2
    assert "holds no demo district (run `badge-server demo` first)" in made.stderr
    assert not (tmp_path / "kiosk.toml").exists()


def test_the_enrol_command_the_console_and_docs_print_works_as_printed(
    tmp_path: Path, server: LoopbackServer, district: District
) -> None:
    """Issue 15: the console, the README and the kiosk's own "not enrolled" message print
    `badge-kiosk enroll --server URL --code CODE`, which failed with "No such option"."""
    config = tmp_path / "kiosk.toml"
    config.write_text(
        '# set by IT\nserver_url = "https://badges.example.org"\n'
        f'camera = "0"\ntoken_file = "{tmp_path / "state" / "token.json"}"\n',
        encoding="utf-8",
    )
    add_staff(district, "it-admin", "district_admin")
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as admin:
        sign_in_setting_up_totp(admin, "it-admin")
        devices_page = admin.get("/staff/admin/devices")
        made = admin.post(
            "/staff/admin/devices/enroll-code", data={"csrf": csrf_of(devices_page), "school_id": "s-maple"}
        )
    printed = re.search(r"<code>(badge-kiosk enroll --server \S+ --code \S+)</code>", made.text)
    assert printed, made.text[:2000]
    command = shlex.split(html.unescape(printed[1]))
    enrolled = subprocess.run(
        [*CLI, "--config", str(config), *command[1:]], capture_output=True, text=True, timeout=120, check=False
    )
    assert enrolled.returncode == 0, enrolled.stderr
    assert f"server_url = '{server.url}' saved in {config}" in enrolled.stdout
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# set by IT\n") and f'server_url = "{server.url}"' in text, "other lines kept"
    report = kiosk("check", "--json", "--seconds", "0.2", config=config)
    assert json.loads(report.stdout)["enrolled"] and json.loads(report.stdout)["server_reachable"]
    # The group option, as before, and the form the "not enrolled" message names.
    from kiosk_client import credentials

    assert "badge-kiosk enroll --server URL --code CODE" in inspect.getsource(credentials)
    with transaction(district.runtime.factory) as session:
        code = devices.create_enroll_code(session, "s-lake", minutes=5, actor="admin").code
    again = subprocess.run(
        [*CLI, "--config", str(config), "--server", server.url, "enroll", "--code", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
