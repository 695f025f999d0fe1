"""A worker that fails where nothing expects it ends the kiosk with a failure status (so systemd
restarts it), instead of leaving a kiosk that looks alive and never reads a badge again.

The kiosk runs under Qt's real event loop here (``app.exec()``), as cli.py runs it: the exit
status is what ``exec()`` returns."""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import requests
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from kiosk_client.api import BadgeServerClient
from kiosk_client.app import EXIT_WORKER_FAILED, KioskApp
from kiosk_client.capture import FrameSource
from kiosk_client.config import KioskConfig
from kiosk_client.credentials import FileKeyring, save_token
from kiosk_client.decoder import BadgeScanner, Decoded

SECRET = "BL1:B001" + "S" * 26  # stands for a badge payload: it must never reach the log
NOTHING_LISTENS = "http://127.0.0.1:9"  # these kiosks never need the server
TIMED_OUT = 124


class FailingScanner(BadgeScanner):
    """A decoder that breaks ``seconds`` after its first frame, with a badge payload in its message."""

    def __init__(self, seconds: float = 0.0) -> None:
        super().__init__(None)
        self.seconds = seconds
        self.fails_at: float | None = None

    def scan(self, gray: np.ndarray, *, thorough: bool = False) -> list[Decoded]:
        self.fails_at = self.fails_at or time.monotonic() + self.seconds
        if time.monotonic() >= self.fails_at:
            raise ValueError(f"cannot read {SECRET}")
        return []


class FailingCamera(FrameSource):
    """A camera driver that opens, then raises instead of returning a picture."""

    def __init__(self) -> None:
        super().__init__("0", 640, 480)

    def open(self) -> bool:
        return True

    def read(self) -> np.ndarray | None:
        raise RuntimeError(f"driver error near {SECRET}")

    def size(self) -> tuple[int, int]:
        return 640, 480


class WebFilterPage(requests.adapters.BaseAdapter):
    """A district web filter answering every request with its own HTML page and a 200."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = requests.Response()
        response.status_code, response._content = 200, b"<html>This site is blocked</html>"
        response.headers["Content-Type"] = "text/html"
        return response

    def close(self) -> None:
        pass


def break_decoder(kiosk: KioskApp) -> None:
    kiosk.decoder.scanner = FailingScanner()


def break_capture(kiosk: KioskApp) -> None:
    kiosk.capture.source = FailingCamera()


def break_network(kiosk: KioskApp) -> None:
    session = requests.Session()
    session.mount("https://", WebFilterPage())
    kiosk.network.client = BadgeServerClient("https://badges.example", session=session)
    QTimer.singleShot(0, kiosk.controller, lambda: kiosk.controller.badge_seen(SECRET))


@pytest.fixture
def grey_camera(tmp_path: Path) -> str:
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), np.full((480, 640), 150, np.uint8))
    return str(path)


@pytest.fixture
def new_kiosk(qtbot: QtBot, tmp_path: Path) -> Iterator[Callable[[str], KioskApp]]:
    made: list[KioskApp] = []

    def make(camera: str) -> KioskApp:
        config = KioskConfig(
            server_url=NOTHING_LISTENS, camera=camera, token_file=tmp_path / "token.json", fullscreen=False, chime=False
        )
        kiosk = KioskApp(config, BadgeServerClient(NOTHING_LISTENS, device_token="device-token"))
        made.append(kiosk)
        return kiosk

    yield make
    for kiosk in made:
        kiosk.stop()
    made.clear()
    qtbot.wait(10)
    gc.collect()


def run_until_quit(seconds: float = 15) -> int:
    """Qt's event loop, as the kiosk command runs it; its exit status, or TIMED_OUT."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    deadline = QTimer(singleShot=True, interval=int(seconds * 1000))
    deadline.timeout.connect(lambda: QApplication.exit(TIMED_OUT))
    deadline.start()
    try:
        return app.exec()
    finally:
        deadline.stop()


def logged_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(record.getMessage()) for record in caplog.records if record.name == "badge_kiosk"]


@pytest.mark.parametrize(
    ("worker", "error", "break_it"),
    [
        ("decode", "ValueError", break_decoder),
        ("capture", "RuntimeError", break_capture),
        ("network", "TypeError", break_network),  # the page is not JSON: not an answer the kiosk knows
    ],
)
def test_a_worker_that_fails_ends_the_kiosk_with_a_failure_status(
    new_kiosk: Callable[[str], KioskApp],
    grey_camera: str,
    caplog: pytest.LogCaptureFixture,
    worker: str,
    error: str,
    break_it: Callable[[KioskApp], None],
) -> None:
    caplog.set_level("INFO", logger="badge_kiosk")
    kiosk = new_kiosk(grey_camera)
    break_it(kiosk)
    kiosk.start()
    assert run_until_quit() == EXIT_WORKER_FAILED
    assert kiosk.failed_worker == worker and kiosk.stopped
    assert all(pair.thread.isFinished() for pair in kiosk.workers), "every worker stopped, none left running"
    assert not kiosk.window.isVisible()
    failures = [event for event in logged_events(caplog) if event["event"] == "worker_failed"]
    assert len(failures) == 1
    assert failures[0]["worker"] == worker and failures[0]["error"] == error
    assert failures[0]["at"], "where it failed, as file:line function"
    assert SECRET not in caplog.text


def test_a_failed_worker_stops_the_watchdog_pings(
    qtbot: QtBot,
    new_kiosk: Callable[[str], KioskApp],
    grey_camera: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    address = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(address))
        listener.setblocking(False)
        monkeypatch.setenv("NOTIFY_SOCKET", str(address))
        monkeypatch.setenv("WATCHDOG_USEC", "1000000")  # a ping every 0.5 s
        kiosk = new_kiosk(grey_camera)
        kiosk.decoder.scanner = FailingScanner(seconds=1.5)  # pings first, then the decoder breaks
        kiosk.start()
        assert run_until_quit() == EXIT_WORKER_FAILED
        qtbot.wait(1500)  # three ping intervals after the end
        received = []
        while True:
            try:
                received.append(listener.recv(64))
            except BlockingIOError:
                break
    assert received[0] == b"READY=1" and b"WATCHDOG=1" in received
    assert received[-1] == b"STOPPING=1" and received.count(b"STOPPING=1") == 1
    assert not kiosk.watchdog.isActive()


def test_the_kiosk_command_exits_non_zero_when_a_worker_fails(tmp_path: Path, grey_camera: str) -> None:
    token_file = tmp_path / "state" / "token.json"
    save_token(FileKeyring(token_file), "device-token")
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'server_url = "{NOTHING_LISTENS}"\ncamera = "{grey_camera}"\ntoken_file = "{token_file}"\n', encoding="utf-8"
    )
    broken_decoder = (
        "from kiosk_client.decoder import BadgeScanner\n"
        "def scan(self, gray, *, thorough=False):\n"
        "    raise ValueError('a broken decoder')\n"
        "BadgeScanner.scan = scan\n"
        "from kiosk_client.cli import main\n"
        "main()\n"
    )
    environment = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    ran = subprocess.run(
        [sys.executable, "-c", broken_decoder, "--config", str(config), "--windowed"],
        env={**environment, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == EXIT_WORKER_FAILED, ran.stderr
    events = [json.loads(line) for line in ran.stderr.splitlines() if line.startswith("{")]
    failures = [event for event in events if event["event"] == "worker_failed"]
    assert [(event["worker"], event["error"]) for event in failures] == [("decode", "ValueError")]
