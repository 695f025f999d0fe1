"""Kiosk fixtures: Qt offscreen, a fixture that fails tests leaving windows open, badge videos
made from real printed badges, and a kiosk wired to the real server on loopback."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import gc
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from kiosk_client.api import BadgeServerClient
from kiosk_client.app import KioskApp
from kiosk_client.config import KioskConfig
from kiosk_client.credentials import FileKeyring, save_token
from kiosk_client.frames import write_badge_video
from tests.support.district import District
from tests.support.pdf import printed_badge
from tests.support.servers import LoopbackServer


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    """The kiosk is a client of the HTTP API, which is the same whatever database serves it: its
    tests run against a server on SQLite (the server's tests cover both databases)."""
    return sqlite_database_url


@pytest.fixture(autouse=True)
def _no_window_left_open(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    app = QApplication.instance()
    if app is None:
        return
    open_windows = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    for window in open_windows:
        window.close()
    assert not open_windows, f"the test left windows open: {open_windows}"


@pytest.fixture
def badge_video(tmp_path: Path) -> Callable[..., str]:
    def make(payload: str, name: str = "Student", **options: Any) -> str:
        path = tmp_path / f"badge-{abs(hash((payload, tuple(options.items())))):x}.avi"
        write_badge_video(str(path), card=printed_badge(payload, name), **options)
        return str(path)

    return make


@pytest.fixture
def launched(tmp_path: Path) -> Path:
    """The file the kiosk's stand-in browser writes the URL it was given to."""
    return tmp_path / "launched.txt"


@pytest.fixture
def make_kiosk(
    qtbot: QtBot, tmp_path: Path, server: LoopbackServer, district: District, launched: Path
) -> Iterator[Callable[..., KioskApp]]:
    made: list[KioskApp] = []

    def make(camera: str, **overrides: object) -> KioskApp:
        token_file = tmp_path / "state" / "device-token.json"
        save_token(FileKeyring(token_file), district.device_token)
        config = KioskConfig(
            server_url=server.url,
            camera=camera,
            token_file=token_file,
            fullscreen=False,
            chime=False,
            welcome_seconds=0.5,
            message_seconds=1.0,
            **{
                # A stand-in browser: writes the URL it was given, then stays open as a real one
                # does (the kiosk ends it at sign-out). One that quit at once signed the child out
                # at the kiosk's next tick ("browser_closed"), racing the test that looked.
                "browser_command": [
                    sys.executable,
                    "-c",
                    f"import sys, time; open({str(launched)!r}, 'w').write(sys.argv[1]); time.sleep(60)",
                ],
                **overrides,
            },
        )
        kiosk = KioskApp(config, BadgeServerClient(server.url, device_token=district.device_token))
        kiosk.start()
        made.append(kiosk)
        return kiosk

    yield make
    for kiosk in made:
        kiosk.stop()
    made.clear()
    qtbot.wait(10)
    gc.collect()  # destroy the kiosk's Qt objects here, not at a random later moment
