"""The server as its systemd unit runs it: the unit's own command lines and environment file
start a real server here (several workers), a demo badge signs in, SIGTERM stops it. Then
install-server installs it for real and systemd-analyze verifies every unit."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.database import DEMO_ROSTER
from tests.support.packaging import ROOT, as_root, need, run
from tests.support.servers import free_port, wait_until_serving

pytestmark = pytest.mark.runs_long(100)

SERVER = ROOT / "packaging" / "server"
VENV_BIN = Path(sys.executable).parent


def unit_lines(path: Path) -> list[tuple[str, str]]:
    """(key, value) pairs of a unit file, in order (keys such as SystemCallFilter repeat)."""
    pairs = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            pairs.append((key.strip(), value.strip()))
    return pairs


def environment_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip().strip('"')  # systemd drops the quotes
    return values


def command_line(value: str, env: dict[str, str]) -> list[str]:
    """An Exec line as systemd runs it: ${VAR} becomes one word; the /opt prefix becomes this venv."""
    words = [re.sub(r"\$\{(\w+)\}", lambda m: env[m[1]], word) for word in shlex.split(value)]
    return [words[0].replace("/opt/badge-server/bin/", f"{VENV_BIN}/"), *words[1:]]


def test_the_unit_command_lines_and_environment_file_serve_a_sign_in(tmp_path: Path) -> None:
    unit = dict(unit_lines(SERVER / "badge-server.service"))
    assert unit["EnvironmentFile"] == "/etc/badge-server/badge-server.env"
    values = environment_file(SERVER / "badge-server.env")
    assert values["BADGE_WORKERS"] == "2" and values["BADGE_ENV"] == "production"  # one per core of a small server
    values["BADGE_WORKERS"] = "3"  # as on a bigger server: the stop below must end every worker
    port = free_port()
    # What the machine changes: where the data lives and which port is free here.
    values |= {"BADGE_DATA_DIR": str(tmp_path / "state"), "BADGE_PORT": str(port)}
    values["BADGE_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BADGE_")} | values

    run(command_line(unit["ExecStartPre"], env), env=env)  # init: key + schema
    assert (tmp_path / "state" / "secret.key").stat().st_mode & 0o777 == 0o600
    cli = [str(VENV_BIN / "badge-server")]
    run([*cli, "import-roster", str(DEMO_ROSTER)], env=env)
    code = json.loads(run([*cli, "enroll-code", "--school", "s-maple", "--json"], env=env).stdout)["code"]
    badge = json.loads(run([*cli, "show-badge", "--person", "st-0001", "--json"], env=env).stdout)["payload"]

    server = subprocess.Popen(
        command_line(unit["ExecStart"], env), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base)
        with httpx.Client(base_url=base, timeout=10) as kiosk:
            token = kiosk.post("/api/v1/devices/enroll", json={"code": code, "name": "unit test"}).json()[
                "device_token"
            ]
            auth = {"Authorization": f"Bearer {token}"}
            answer = kiosk.post("/api/v1/exchange", json={"badge": badge}, headers=auth)
            assert answer.status_code == 200, answer.text
            assert answer.json()["launch_url"].startswith(f"http://127.0.0.1:{port}/launch/")
            launched = kiosk.post("/api/v1/launch", json={"launch_code": answer.json()["launch_code"]}, headers=auth)
            me = kiosk.get("/api/v1/me", headers={"Authorization": f"Bearer {launched.json()['session_token']}"})
            assert me.json()["display_name"] == "José García"
    finally:
        assert unit["KillMode"] == "mixed"  # SIGTERM to the parent only; see the unit's comment
        server.send_signal(signal.SIGTERM)  # how systemd stops it
        output, _ = server.communicate(timeout=int(unit["TimeoutStopSec"]))
    assert server.returncode == 0, output[-2000:]
    assert output.count("Started server process") == int(values["BADGE_WORKERS"]), output[-2000:]
    # The nightly unit: the backup first (a failed purge must not cost a backup), then the purge.
    nightly = [value for key, value in unit_lines(SERVER / "badge-server-backup.service") if key == "ExecStart"]
    assert nightly[0].startswith("/usr/local/sbin/badge-server-backup ") and len(nightly) == 2
    purged = run(command_line(nightly[1], env), env=env)
    assert purged.stdout.startswith("purged audit events before"), purged.stdout
    # The scheduled import, on a drop folder here in place of /srv/badge-roster: nothing waits.
    roster_unit = dict(unit_lines(SERVER / "badge-server-roster.service"))
    *words, folder = command_line(roster_unit["ExecStart"], env)
    assert folder == roster_unit["ReadWritePaths"] == "/srv/badge-roster"
    (tmp_path / "drop").mkdir()
    assert run([*words, str(tmp_path / "drop")], env=env).stdout.startswith("nothing to import")


def test_install_server_installs_units_that_systemd_accepts(tmp_path: Path) -> None:
    sudo = as_root()
    analyze = need("systemd-analyze", "systemd")
    installed = run([*sudo, str(SERVER / "install-server")], timeout=900, cwd=ROOT)
    assert "installed badge-server, version" in installed.stdout
    try:
        for unit in (
            "badge-server.service",
            "badge-server-backup.service",
            "badge-server-backup.timer",
            "badge-server-roster.service",
            "badge-server-roster.timer",
        ):
            verify = run([analyze, "verify", "--man=no", f"/etc/systemd/system/{unit}"], check=False)
            assert verify.returncode == 0, verify.stderr
        assert run(["/opt/badge-server/bin/badge-server", "--version"]).stdout.startswith("badge-server, version")
        # Issue 18: exactly the lock's versions, and the lock kept beside them for IT to compare.
        lock = (ROOT / "requirements" / "server.lock").read_text()
        assert run([*sudo, "cat", "/opt/badge-server/server.lock"]).stdout == lock
        frozen = run(["/opt/badge-server/bin/python", "-m", "pip", "freeze", "--exclude", "badge-login"]).stdout
        pins = set(re.findall(r"^([A-Za-z0-9._-]+==[^ ;\\]+)", lock, flags=re.MULTILINE))
        normal = {re.sub(r"[-_.]+", "-", pin).lower() for pin in pins}
        off_lock = [line for line in frozen.split() if re.sub(r"[-_.]+", "-", line).lower() not in normal]
        assert len(frozen.split()) >= 40 and off_lock == []
        if not sudo:
            # The admin wrapper: a command as the service user with the service's environment.
            run(["install", "-d", "-o", "badge-server", "-g", "badge-server", "-m", "0700", "/var/lib/badge-server"])
            made = run(["/usr/local/sbin/badge-server-admin", "init"])
            assert "/var/lib/badge-server" in made.stdout + made.stderr or "schema" in made.stdout
            assert run(["stat", "-c", "%U", "/var/lib/badge-server/secret.key"]).stdout.strip() == "badge-server"
        mode = run([*sudo, "stat", "-c", "%a %U %G", "/etc/badge-server/badge-server.env"]).stdout.split()
        assert mode == ["640", "root", "badge-server"], "the environment file may hold a database password"
        # Running it again is an upgrade: the admin's environment file is kept.
        run([*sudo, "sh", "-c", "echo 'BADGE_DISTRICT_NAME=Riverside' >> /etc/badge-server/badge-server.env"])
        run([*sudo, str(SERVER / "install-server")], timeout=900, cwd=ROOT)
        assert "Riverside" in run([*sudo, "cat", "/etc/badge-server/badge-server.env"]).stdout
    finally:
        run(
            [
                *sudo,
                "rm",
                "-rf",
                "/opt/badge-server",
                "/etc/badge-server",
                "/usr/local/bin/badge-server",
                "/usr/local/sbin/badge-server-backup",
                "/var/backups/badge-server",
                "/etc/systemd/system/badge-server.service",
                "/etc/systemd/system/badge-server-backup.service",
                "/etc/systemd/system/badge-server-backup.timer",
                "/etc/systemd/system/badge-server-roster.service",
                "/etc/systemd/system/badge-server-roster.timer",
                "/srv/badge-roster",
            ],
            check=False,
        )
