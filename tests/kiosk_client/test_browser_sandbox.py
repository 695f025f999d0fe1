"""The app browser the kiosk opens cannot read the kiosk's device token (issue 18): it starts in a
namespace where an empty folder covers systemd's credentials. Run for real: the kiosk's own
browser code path, with a "browser" that tries to read the token and says what it found."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from kiosk_client.browser_sandbox import can_hide_credentials, without_credentials
from kiosk_client.config import KioskConfig
from kiosk_client.controller import KioskController

REPORT = """
import os, sys
token = os.path.join(os.environ["CREDENTIALS_DIRECTORY"], "device-token")
try:
    found = open(token).read()
except OSError as exc:
    found = type(exc).__name__
open(sys.argv[1], "w").write(f"{found}|{os.getuid()}|{open(sys.argv[2]).read()}")
"""


@pytest.fixture
def credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "credentials"
    folder.mkdir()
    (folder / "device-token").write_text("the-device-token")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(folder))
    if not can_hide_credentials(str(folder)):
        pytest.skip("!!! this machine forbids unprivileged user namespaces: the kiosk would refuse to open apps")
    return folder


def test_without_systemd_credentials_the_command_is_left_alone() -> None:
    assert without_credentials(["chromium", "https://x"], {}) == ["chromium", "https://x"]


def test_the_browser_the_kiosk_opens_finds_no_token_but_everything_else(credentials: Path, tmp_path: Path) -> None:
    report, other = tmp_path / "report.txt", tmp_path / "other.txt"
    other.write_text("a file the browser may read")
    script = tmp_path / "browser.py"
    script.write_text(REPORT)
    controller = KioskController(
        KioskConfig(server_url="http://127.0.0.1:1", browser_command=[sys.executable, str(script), str(report)])
    )
    try:
        controller.session_token = "a session"
        controller.handed_off("a session", str(other))  # the URL, appended to the command
        assert controller.browser is not None
        assert controller.browser.wait(20) == 0
    finally:
        controller.shutdown()
    found, uid, read = report.read_text().split("|")
    assert found == "FileNotFoundError", "the token is covered"
    assert int(uid) == os.getuid(), "the browser runs as the kiosk's own user, not root"
    assert read == "a file the browser may read"
    assert (credentials / "device-token").read_text() == "the-device-token", "the kiosk itself still reads it"


@pytest.mark.skipif(os.getuid() != 0 or shutil.which("runuser") is None, reason="needs root to become another user")
def test_an_unprivileged_kiosk_user_hides_it_too() -> None:
    """The kiosk runs as its own unprivileged user (badge-kiosk): no capability is needed."""
    with tempfile.TemporaryDirectory(prefix="badge-credentials-") as where:  # pytest's own is root-only
        Path(where).chmod(0o755)
        hides_as_nobody(Path(where))


def hides_as_nobody(tmp_path: Path) -> None:
    folder = tmp_path / "credentials"
    folder.mkdir(mode=0o755)
    (folder / "device-token").write_text("the-device-token")
    (tmp_path / "other.txt").write_text("readable")
    for path in (folder / "device-token", tmp_path / "other.txt"):
        path.chmod(0o644)
    nobody = pwd.getpwnam("nobody")
    results = []
    for path in (folder / "device-token", tmp_path / "other.txt"):
        command = without_credentials(["cat", str(path)], {"CREDENTIALS_DIRECTORY": str(folder)})
        at = command.index(str(folder))
        command[at + 1 : at + 3] = [str(nobody.pw_uid), str(nobody.pw_gid)]  # as if nobody had made it
        ran = subprocess.run(["runuser", "-u", "nobody", "--", *command], capture_output=True, text=True,
                             timeout=30, check=False)  # fmt: skip
        results.append((ran.returncode, ran.stdout.strip(), ran.stderr))
    (token_rc, token_out, token_err), (other_rc, other_out, other_err) = results
    assert (other_rc, other_out) == (0, "readable"), other_err
    assert token_rc != 0 and token_out == "" and "No such file" in token_err, token_err
