"""``badge-server`` as IT and a newcomer run it: real processes, real files, real HTTP."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cli import COMMAND, Ran, badge_server, badge_server_process
from tests.support.database import DEMO_ROSTER
from tests.support.servers import free_port, wait_until_serving


def run(args: list[str], data_dir: Path, *, check: bool = True, real_process: bool = False, **env: str) -> Ran:
    command = badge_server_process if real_process else badge_server
    done = command(args, {"BADGE_DATA_DIR": str(data_dir), **env}, cwd=data_dir.parent)
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "badge-data"


def test_serve_refuses_without_a_key_then_init_makes_one(data_dir: Path) -> None:
    refused = run(["serve", "--port", str(free_port())], data_dir, check=False, real_process=True)
    assert refused.returncode == 2
    assert "no server key" in refused.stderr and "badge-server init" in refused.stderr
    assert "Traceback" not in refused.stderr
    made = run(["init"], data_dir, real_process=True)
    assert "created server key" in made.stdout
    assert (data_dir / "secret.key").stat().st_mode & 0o077 == 0
    assert "created server key" not in run(["init"], data_dir).stdout  # idempotent: never replaces a key


def test_import_roster_issue_and_enroll_code_as_json(data_dir: Path, tmp_path: Path) -> None:
    run(["init"], data_dir)
    report = json.loads(run(["import-roster", str(DEMO_ROSTER), "--json"], data_dir).stdout)
    assert report["badges_issued"] == 40
    grant = json.loads(run(["enroll-code", "--school", "s-maple", "--json"], data_dir).stdout)
    assert re.fullmatch(r"[A-Z2-7]{5}-[A-Z2-7]{5}", grant["code"])
    replaced = json.loads(run(["replace-badge", "--person", "st-0001", "--json"], data_dir).stdout)
    assert replaced["generation"] == 2 and replaced["payload"].startswith("BL1:B002")
    missing = run(["enroll-code", "--school", "nowhere"], data_dir, check=False)
    assert missing.returncode == 2 and "no active school with id 'nowhere'" in missing.stderr


def test_a_bad_roster_is_refused_with_every_problem_and_exit_status_2(data_dir: Path, tmp_path: Path) -> None:
    run(["init"], data_dir)
    roster = tmp_path / "roster"
    shutil.copytree(DEMO_ROSTER, roster)
    (roster / "users.csv").write_text("sourcedId,role\nx,student\n", encoding="utf-8")
    refused = run(["import-roster", str(roster)], data_dir, check=False)
    assert refused.returncode == 2
    assert "users.csv, line 1, column givenName: required column is missing" in refused.stderr
    assert "nothing was changed" in refused.stderr


def test_a_dry_run_reports_per_school_and_changes_nothing_then_a_mass_deactivation_needs_confirming(
    data_dir: Path, tmp_path: Path
) -> None:
    run(["init"], data_dir)
    first = run(["import-roster", str(DEMO_ROSTER)], data_dir)
    # Where a long import is goes to stderr; stdout stays the report (or its JSON).
    assert first.stderr.startswith("checking the files and working out the changes...\nwriting the roster...\n")
    assert "issuing badges" in first.stderr and "issuing badges" not in first.stdout
    roster = tmp_path / "roster"
    shutil.copytree(DEMO_ROSTER, roster)
    users = (roster / "users.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    gone = {line.split(",")[0] for line in users if ",s-lake,student," in line}  # the export lost a school
    (roster / "users.csv").write_text("".join(u for u in users if u.split(",")[0] not in gone), encoding="utf-8")
    enrollments = (roster / "enrollments.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [e for e in enrollments if not any(f",{person}," in e for person in gone)]
    (roster / "enrollments.csv").write_text("".join(kept), encoding="utf-8")
    refused = run(["import-roster", str(roster), "--dry-run"], data_dir, check=False)
    assert refused.returncode == 2
    assert "would deactivate 20 of the 20 active students of Lakeview Primary School (s-lake)" in refused.stderr
    dry = run(["import-roster", str(roster), "--dry-run", "--allow-mass-deactivation"], data_dir)
    assert dry.stdout.startswith("would import (dry run, nothing changed)")
    assert "students at Lakeview Primary School (s-lake): 20 active before, 0 new, 20 deactivated" in dry.stdout
    again = json.loads(run(["import-roster", str(DEMO_ROSTER), "--json", "--dry-run"], data_dir).stdout)
    assert again["dry_run"] and again["deactivated"]["people"] == 0, "the dry run deactivated no one"
    done = json.loads(run(["import-roster", str(roster), "--json", "--allow-mass-deactivation"], data_dir).stdout)
    assert done["schools"]["s-lake"] == {
        "name": "Lakeview Primary School",
        "active_before": 20,
        "added": 0,
        "deactivated": 20,
    }


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo")


@pytest.fixture(scope="module")
def demo_server(demo_folder: Path) -> Iterator[tuple[str, str]]:
    """`badge-server demo` exactly as the README runs it, in its own process: one for the module,
    as a newcomer runs it once and tries everything it prints (a demo takes seconds to start)."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BADGE_")}
    with subprocess.Popen(
        [*COMMAND, "demo", "--port", str(port)],
        cwd=demo_folder,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        output = ""
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while "API documentation" not in output and time.monotonic() < deadline:
            output += process.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, deadline - time.monotonic())
        try:
            yield base, output
        finally:
            process.terminate()
            process.wait(10)


def test_the_readme_demo_signs_a_student_in_with_the_printed_commands(demo_server: tuple[str, str]) -> None:
    base, output = demo_server
    token = re.search(r"Authorization: Bearer ([\w-]+)", output)
    badge = re.search(r'"badge": "(BL1:[A-Z0-9]+)"', output)
    assert token and badge, output
    headers = {"Authorization": f"Bearer {token[1]}"}
    answer = httpx.post(f"{base}/api/v1/exchange", json={"badge": badge[1]}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"]["display_name"] == "José García"
    launched = httpx.post(f"{base}/api/v1/launch", json={"launch_code": answer.json()["launch_code"]}, headers=headers)
    apps = httpx.get(f"{base}/api/v1/me/apps", headers={"Authorization": f"Bearer {launched.json()['session_token']}"})
    assert len(apps.json()["apps"]) >= 3


def test_the_demo_prints_a_teacher_account_that_signs_in_to_the_console(demo_server: tuple[str, str]) -> None:
    base, output = demo_server
    account = re.search(r"/staff/login\s+\(username (\w+), password ([\w-]+)\)", output)
    assert account and f"{base}/scan" in output, output
    with httpx.Client(base_url=base, follow_redirects=True) as browser:
        form = browser.get("/staff/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf
        classes = browser.post("/staff/login", data={"username": account[1], "password": account[2], "csrf": csrf[1]})
        assert classes.url.path == "/staff/classes" and "Kindergarten – Ms. Rivera" in classes.text


def test_the_demo_sets_up_a_kiosk_that_reads_the_demo_badge(demo_server: tuple[str, str], demo_folder: Path) -> None:
    """The server's demo asks the kiosk to set itself up (`badge-kiosk demo-setup`, a command, not
    an import): the printed config scans a video of José's badge and the demo server accepts it."""
    _, output = demo_server
    config = demo_folder / "badge-demo" / "kiosk.toml"
    assert "badge-kiosk --config badge-demo/kiosk.toml" in output, output  # relative to where demo ran
    assert (demo_folder / "badge-demo" / "demo-badge.txt").stat().st_mode & 0o077 == 0, "a badge secret, private"
    checked = subprocess.run(
        [sys.executable, "-m", "kiosk_client", "--config", str(config), "check", "--json", "--expect-badge"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(checked.stdout)
    assert checked.returncode == 0 and report["ok"] and report["enrolled"], checked.stdout + checked.stderr


def test_the_demo_apps_tile_lands_jose_signed_in_with_the_claims_it_received(demo_server: tuple[str, str]) -> None:
    """The whole loop a newcomer sees: badge -> dashboard -> "Who am I?" tile -> the demo app,
    which signed José in with OpenID Connect (code flow, ID token checked against the JWKS)."""
    base, output = demo_server
    token = re.search(r"Authorization: Bearer ([\w-]+)", output)
    badge = re.search(r'"badge": "(BL1:[A-Z0-9]+)"', output)
    assert token and badge and "Who am I?" in output, output
    answer = httpx.post(
        f"{base}/api/v1/exchange", json={"badge": badge[1]}, headers={"Authorization": f"Bearer {token[1]}"}
    )
    with httpx.Client(cookies={"badge_device": token[1]}, follow_redirects=True, timeout=20) as browser:
        dashboard = browser.get(answer.json()["launch_url"])
        assert 'href="/apps/who-am-i/open"' in dashboard.text
        landed = browser.get(f"{base}/apps/who-am-i/open")
    assert landed.url.path == "/demo-app/", landed.text[-400:]
    assert "Signed in as José García" in landed.text
    assert "preferred_username" in landed.text and "Maple Street Elementary" in landed.text


def test_the_demo_apps_saml_tile_lands_jose_signed_in_through_a_signed_response(
    demo_server: tuple[str, str],
) -> None:
    """The same loop over SAML: the tile's IdP-initiated response is posted (as the page's script
    would) to the demo app's ACS, where pysaml2 checks its signatures before believing it."""
    base, output = demo_server
    token = re.search(r"Authorization: Bearer ([\w-]+)", output)
    badge = re.search(r'"badge": "(BL1:[A-Z0-9]+)"', output)
    assert token and badge and "Who am I? (SAML)" in output, output
    answer = httpx.post(
        f"{base}/api/v1/exchange", json={"badge": badge[1]}, headers={"Authorization": f"Bearer {token[1]}"}
    )
    with httpx.Client(cookies={"badge_device": token[1]}, follow_redirects=True, timeout=20) as browser:
        browser.get(answer.json()["launch_url"])
        form = browser.get(f"{base}/apps/who-am-i-saml/open")
        action = re.search(r'<form[^>]*action="([^"]+)"', form.text)
        response = re.search(r'name="SAMLResponse" value="([^"]+)"', form.text)
        assert action and response, form.text[:500]
        landed = browser.post(html.unescape(action[1]), data={"SAMLResponse": html.unescape(response[1])})
    assert landed.url.path == "/demo-app/saml/", landed.text[-400:]
    assert "Signed in as José García" in landed.text and "NameID" in landed.text


def test_set_password_gives_a_student_a_password_that_signs_in(data_dir: Path) -> None:
    from badge_server import student_passwords
    from badge_server.runtime import Runtime
    from badge_server.settings import Settings
    from badge_server.store.db import transaction

    run(["init"], data_dir)
    run(["import-roster", str(DEMO_ROSTER)], data_dir)
    given = json.loads(run(["set-password", "--person", "st-0001", "--json"], data_dir).stdout)
    assert given["username"] == "s00002" and re.fullmatch(r"[a-z]+[2-9]{2}", given["password"])
    assert given["must_choose_own"] is False and given["sessions_ended"] == 0
    runtime = Runtime.start(Settings(data_dir=data_dir, _env_file=None))
    try:
        with transaction(runtime.factory) as session:
            sign_in = student_passwords.load_sign_in(session, "s00002")
        assert student_passwords.verify(sign_in, given["password"])
    finally:
        runtime.engine.dispose()
    teacher = run(["set-password", "--person", "t-rivera"], data_dir, check=False)
    assert teacher.returncode == 2 and "is not a student" in teacher.stderr
    unknown = run(["set-password", "--person", "nobody"], data_dir, check=False)
    assert unknown.returncode == 2 and "nobody" in unknown.stderr


def test_the_demo_prints_a_student_password_that_signs_in_without_a_camera(demo_server: tuple[str, str]) -> None:
    from tests.support.passwords import sign_in

    base, output = demo_server
    printed = re.search(r"/sign-in/password\s+\(username (\w+), password ([a-z]+[2-9]{2})\)", output)
    assert printed, output
    with httpx.Client(base_url=base, timeout=20) as browser:
        signed_in = sign_in(browser, printed[1], printed[2])
        assert signed_in.status_code == 303, signed_in.text[-400:]
        assert "José" in browser.get("/dashboard").text


def test_files_holding_badge_secrets_are_owner_only_whatever_the_umask(data_dir: Path, tmp_path: Path) -> None:
    """Issue 15, finding 12: print-badges PDFs and the database were created 0644 by a shell's
    usual umask outside systemd."""
    previous = os.umask(0o022)
    try:
        run(["init"], data_dir)
        run(["import-roster", str(DEMO_ROSTER)], data_dir)
        sheet, school = tmp_path / "class.pdf", tmp_path / "school.zip"
        sheet.write_bytes(b"an older, world-readable file of the same name")
        sheet.chmod(0o644)
        run(["print-badges", "--class", "k-maple-kg", "-o", str(sheet)], data_dir)
        run(["print-badges", "--school", "s-maple", "-o", str(school)], data_dir)
        archive = tmp_path / "backup.tar.gz"
        run(["backup", "-o", str(archive)], data_dir)
        for path in (sheet, school, archive, data_dir / "badge.db", data_dir / "secret.key"):
            assert path.stat().st_mode & 0o077 == 0, f"{path.name} is {oct(path.stat().st_mode)}"
        assert sheet.read_bytes().startswith(b"%PDF")
    finally:
        os.umask(previous)
