"""The real kiosk (offscreen Qt) scanning videos of real printed badges against the real server."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from badge_server import badges, catalog
from badge_server.store.db import transaction
from badge_server.store.models import App as CatalogApp
from badge_server.store.models import AuditEvent, Person, StudentSession
from kiosk_client.app import KioskApp
from kiosk_client.controller import State
from tests.support.district import District
from tests.support.servers import LoopbackServer

pytestmark = pytest.mark.runs_long(55)

JOSE = "st-0001"
WAIT = 15_000


def sessions(district: District) -> list[StudentSession]:
    with transaction(district.runtime.factory) as session:
        return list(session.scalars(select(StudentSession)))


def test_scan_welcome_dashboard_tile_and_sign_out(
    qtbot: QtBot,
    make_kiosk: Callable[..., KioskApp],
    badge_video: Callable[..., str],
    district: District,
    caplog: pytest.LogCaptureFixture,
    launched: Path,
) -> None:
    caplog.set_level(logging.INFO, logger="badge_kiosk")
    kiosk: KioskApp = make_kiosk(badge_video(district.payloads[JOSE], "José García"))
    states: list[State] = []
    kiosk.controller.changed.connect(lambda view: states.append(view.state))
    qtbot.waitUntil(lambda: kiosk.controller.state == State.DASHBOARD, timeout=WAIT)
    assert State.READING in states and State.WELCOME in states
    assert kiosk.window.welcome.greeting.text() == "Hi, José!"
    assert kiosk.sound.played[-1] == "welcome"
    tiles = {tile.text(): tile for tile in kiosk.window.dashboard.tiles}
    assert "Starfall" in tiles
    qtbot.mouseClick(tiles["Starfall"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: launched.exists() and launched.read_text() != "", timeout=WAIT)  # written, not just made
    assert launched.read_text().startswith(f"{kiosk.network.client.server_url}/handoff/")  # lands signed in
    qtbot.mouseClick(kiosk.window.dashboard.sign_out_button, Qt.MouseButton.LeftButton)
    assert kiosk.controller.state in (State.READY, State.TOO_DARK)
    assert kiosk.controller.session_token is None and kiosk.controller.apps == []
    qtbot.waitUntil(lambda: all(s.ended_at is not None for s in sessions(district)), timeout=WAIT)
    assert sessions(district)[0].end_reason == "logout"
    events = [json.loads(record.getMessage()) for record in caplog.records]  # one JSON object per line
    assert {"state", "open_app", "sign_out"} <= {event["event"] for event in events}
    assert district.payloads[JOSE][8:] not in caplog.text and district.device_token not in caplog.text


def test_a_badge_held_in_view_signs_in_once_and_a_new_badge_works_at_once(
    qtbot: QtBot,
    make_kiosk: Callable[..., KioskApp],
    tmp_path: Path,
    district: District,
) -> None:
    import cv2

    from tests.support.pdf import printed_badge

    still = tmp_path / "held.png"
    cv2.imwrite(str(still), printed_badge(district.payloads[JOSE], "José García"))
    kiosk: KioskApp = make_kiosk(str(still))
    qtbot.waitUntil(lambda: kiosk.controller.state == State.DASHBOARD, timeout=WAIT)
    seen: list[str] = []
    kiosk.decoder.badge.connect(seen.append)
    kiosk.controller.sign_out("button")
    # The same badge is still in front of the camera: read again and again, and ignored.
    qtbot.waitUntil(lambda: len(seen) >= 15, timeout=WAIT)
    assert set(seen) == {district.payloads[JOSE]}
    assert kiosk.controller.state == State.READY
    assert len(sessions(district)) == 1
    kiosk.controller.badge_seen(district.payloads["st-0002"])  # another child's badge
    qtbot.waitUntil(lambda: kiosk.controller.state == State.DASHBOARD, timeout=WAIT)
    assert kiosk.controller.user["first_name"] == "Zoë"


def test_idle_and_closed_browser_sign_out_end_the_server_session(
    qtbot: QtBot,
    make_kiosk: Callable[..., KioskApp],
    badge_video: Callable[..., str],
    district: District,
) -> None:
    # A browser that is closed as soon as it opens.
    closing = [sys.executable, "-c", "pass"]
    kiosk: KioskApp = make_kiosk(badge_video(district.payloads[JOSE], "José García"), browser_command=closing)
    qtbot.waitUntil(lambda: kiosk.controller.state == State.DASHBOARD, timeout=WAIT)
    kiosk.controller.last_activity -= kiosk.config.idle_sign_out_seconds + 1  # two minutes without a touch
    qtbot.waitUntil(lambda: kiosk.controller.session_token is None, timeout=WAIT)
    qtbot.waitUntil(lambda: sessions(district)[0].end_reason == "logout", timeout=WAIT)
    qtbot.waitUntil(lambda: kiosk.controller.state == State.DASHBOARD, timeout=WAIT)  # the video loops: José again
    kiosk.controller.open_app(kiosk.controller.apps[0])  # the browser command exits at once: "closed"
    qtbot.waitUntil(lambda: kiosk.controller.session_token is None, timeout=WAIT)
    assert len(sessions(district)) == 2


def test_replaced_badge_says_ask_your_teacher(
    qtbot: QtBot, make_kiosk: Callable[..., KioskApp], badge_video: Callable[..., str], district: District
) -> None:
    with transaction(district.runtime.factory) as session:
        person = session.get_one(Person, JOSE)
        badges.replace(session, district.runtime.keys, district.runtime.settings, person, actor="teacher")
    kiosk: KioskApp = make_kiosk(badge_video(district.payloads[JOSE], "José García"))
    qtbot.waitUntil(lambda: kiosk.controller.state == State.REPLACED, timeout=WAIT)
    assert "Ask your teacher" in kiosk.window.scan.message.text()
    assert kiosk.window.scan.status.shape == "octagon"  # not colour alone: shape, icon and words
    assert kiosk.sound.played[-1] == "error"


def test_a_qr_code_that_is_not_a_badge_is_never_sent(
    qtbot: QtBot, make_kiosk: Callable[..., KioskApp], tmp_path: Path, district: District
) -> None:
    from kiosk_client.frames import write_badge_video

    video = tmp_path / "poster.avi"
    write_badge_video(str(video), payload="https://pbskids.org/games")
    before = _exchange_attempts(district)
    kiosk: KioskApp = make_kiosk(str(video))
    qtbot.waitUntil(lambda: kiosk.controller.state == State.NOT_A_BADGE, timeout=WAIT)
    assert kiosk.window.scan.message.text() == "That's not a login badge"
    assert _exchange_attempts(district) == before


def _exchange_attempts(district: District) -> int:
    with transaction(district.runtime.factory) as session:
        return int(session.scalar(select(func.count()).where(AuditEvent.kind == "badge.exchange")) or 0)


def test_pin_pad_for_a_badge_that_needs_a_pin(
    qtbot: QtBot, make_kiosk: Callable[..., KioskApp], badge_video: Callable[..., str], district: District
) -> None:
    noah = "st-0031"  # grade 4: the test settings ask grade 4 for a PIN
    with transaction(district.runtime.factory) as session:
        badges.set_pin(session, session.get_one(Person, noah), "240817", actor="teacher")
    kiosk: KioskApp = make_kiosk(badge_video(district.payloads[noah], "Grace Thompson"))
    qtbot.waitUntil(lambda: kiosk.controller.state == State.PIN, timeout=WAIT)
    pad = kiosk.window.pin.buttons
    for digit in "240818":
        qtbot.mouseClick(pad[digit], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.controller.state == State.PIN and kiosk.controller.pin_error, timeout=WAIT)
    assert kiosk.window.pin.prompt.text() == "Not right. Try again"
    for digit in "240817":
        qtbot.mouseClick(pad[digit], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.controller.state in (State.WELCOME, State.DASHBOARD), timeout=WAIT)


def test_server_down_then_back(
    qtbot: QtBot,
    make_kiosk: Callable[..., KioskApp],
    badge_video: Callable[..., str],
    server: LoopbackServer,
    district: District,
) -> None:
    kiosk: KioskApp = make_kiosk(badge_video(district.payloads[JOSE], "José García"))
    server.server.should_exit = True
    server.thread.join(10)
    qtbot.waitUntil(lambda: kiosk.controller.state == State.UNREACHABLE, timeout=WAIT)
    assert "Trying again" in kiosk.window.scan.message.text()
    from tests.support.servers import LoopbackServer as Server

    revived = Server(district.runtime)
    revived.port = server.port
    import uvicorn

    from badge_server.app import create_app

    revived.server = uvicorn.Server(
        uvicorn.Config(create_app(runtime=district.runtime), host="127.0.0.1", port=server.port, log_level="warning")
    )
    import threading

    revived.thread = threading.Thread(target=revived.server.run, daemon=True)
    with revived:
        qtbot.waitUntil(
            lambda: kiosk.controller.state in (State.READY, State.READING, State.WELCOME, State.DASHBOARD), timeout=WAIT
        )


def test_camera_missing_then_plugged_in(
    qtbot: QtBot,
    make_kiosk: Callable[..., KioskApp],
    badge_video: Callable[..., str],
    tmp_path: Path,
    district: District,
) -> None:
    later = tmp_path / "camera.avi"
    kiosk: KioskApp = make_kiosk(str(later))
    qtbot.waitUntil(lambda: kiosk.controller.state == State.NO_CAMERA, timeout=WAIT)
    assert kiosk.window.scan.message.text() == "No camera. Ask a grown-up"
    Path(badge_video(district.payloads[JOSE], "José García")).rename(later)
    qtbot.waitUntil(lambda: kiosk.controller.state == State.DASHBOARD, timeout=WAIT)


def test_too_dark_is_said_from_frame_brightness(
    qtbot: QtBot, make_kiosk: Callable[..., KioskApp], tmp_path: Path
) -> None:
    import cv2
    import numpy as np

    dark = tmp_path / "dark.png"
    cv2.imwrite(str(dark), np.full((720, 1280), 12, np.uint8))
    kiosk: KioskApp = make_kiosk(str(dark))
    qtbot.waitUntil(lambda: kiosk.controller.state == State.TOO_DARK, timeout=WAIT)
    assert kiosk.window.scan.message.text() == "Too dark. Turn on a light"


def test_spanish(qtbot: QtBot, make_kiosk: Callable[..., KioskApp], tmp_path: Path) -> None:
    import cv2
    import numpy as np

    dark = tmp_path / "dark.png"
    cv2.imwrite(str(dark), np.full((720, 1280), 12, np.uint8))
    kiosk: KioskApp = make_kiosk(str(dark), language="es")
    qtbot.waitUntil(lambda: kiosk.controller.state == State.TOO_DARK, timeout=WAIT)
    assert kiosk.window.scan.message.text() == "Está muy oscuro. Enciende una luz"


@pytest.mark.parametrize("retry_after", [3])
def test_too_many_tries_counts_down_then_lets_children_try_again(
    qtbot: QtBot,
    make_kiosk: Callable[..., KioskApp],
    tmp_path: Path,
    retry_after: int,
) -> None:
    import cv2
    import numpy as np

    grey = tmp_path / "grey.png"
    cv2.imwrite(str(grey), np.full((720, 1280), 150, np.uint8))
    kiosk: KioskApp = make_kiosk(str(grey))
    qtbot.waitUntil(lambda: kiosk.controller.state == State.READY, timeout=WAIT)
    kiosk.controller.refused("rate_limited", "Too many tries.", retry_after)
    assert kiosk.window.scan.message.text() == f"Too many tries. Wait {retry_after}"
    started = time.monotonic()
    qtbot.waitUntil(lambda: kiosk.controller.state == State.READY, timeout=WAIT)
    assert time.monotonic() - started >= retry_after - 0.5


def test_too_many_tries_from_the_server_shows_a_countdown(
    qtbot: QtBot, make_kiosk: Callable[..., KioskApp], badge_video: Callable[..., str], district: District
) -> None:
    from datetime import timedelta

    from badge_server import clock

    district.runtime.settings.rate_per_badge_per_minute = 1  # the live server reads its settings per request
    # Start at the top of a rate-limit minute, so both scans fall in the same window.
    now = clock.utcnow()
    clock.advance(timedelta(seconds=60 - now.second - now.microsecond / 1e6 + 0.01))
    kiosk: KioskApp = make_kiosk(
        badge_video(district.payloads[JOSE], "José García", empty_seconds=1.2, held_seconds=1.5)
    )
    qtbot.waitUntil(lambda: kiosk.controller.state == State.DASHBOARD, timeout=WAIT)
    kiosk.controller.sign_out("button")
    # The video loops: the badge goes away and comes back, and the server says "too many".
    qtbot.waitUntil(lambda: kiosk.controller.state == State.TOO_MANY, timeout=WAIT)
    message = kiosk.window.scan.message.text()
    assert message.startswith("Too many tries. Wait ")
    assert 1 <= int(message.rsplit(" ", 1)[1]) <= 61
    assert kiosk.window.scan.status.shape == "square"


def test_each_app_opens_in_a_fresh_browser_profile_wiped_at_sign_out(
    qtbot: QtBot,
    make_kiosk: Callable[..., KioskApp],
    badge_video: Callable[..., str],
    tmp_path: Path,
    district: District,
) -> None:
    seen = tmp_path / "profiles.txt"
    # A stand-in browser: leaves a "cookie" in the profile it was given, then stays open.
    browser = (
        "import pathlib, sys, time; p = pathlib.Path(sys.argv[1]); (p / 'Cookies').write_text('session=abc'); "
        f"open({str(seen)!r}, 'a').write(str(p) + '\\n'); time.sleep(60)"
    )
    kiosk: KioskApp = make_kiosk(
        badge_video(district.payloads[JOSE], "José García"),
        browser_command=[sys.executable, "-c", browser, "{profile}"],
    )
    qtbot.waitUntil(lambda: kiosk.controller.state == State.DASHBOARD, timeout=WAIT)
    kiosk.controller.open_app(kiosk.controller.apps[0])
    qtbot.waitUntil(lambda: seen.exists() and seen.read_text().count("\n") == 1, timeout=WAIT)
    first = Path(seen.read_text().split()[0])
    qtbot.waitUntil(lambda: (first / "Cookies").exists(), timeout=WAIT)
    kiosk.controller.open_app(kiosk.controller.apps[1])  # another app: the first browser and profile go
    qtbot.waitUntil(lambda: seen.read_text().count("\n") == 2, timeout=WAIT)
    second = Path(seen.read_text().split()[1])
    assert second != first and not first.exists()
    running = kiosk.controller.browser
    kiosk.controller.sign_out("button")
    assert running is not None and running.poll() is not None, "the app browser ends at sign-out"
    assert not second.exists(), "its profile (cookies, history) is wiped"


def test_the_kiosk_tells_systemd_it_is_ready_and_alive(
    qtbot: QtBot, make_kiosk: Callable[..., KioskApp], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    address = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(address))
        listener.setblocking(False)  # the Qt loop must keep running to send the pings
        monkeypatch.setenv("NOTIFY_SOCKET", str(address))
        monkeypatch.setenv("WATCHDOG_USEC", "1000000")  # WatchdogSec=1 -> a ping every 0.5 s
        kiosk: KioskApp = make_kiosk(str(tmp_path / "no-camera"))
        received: list[bytes] = []
        qtbot.waitUntil(lambda: kiosk.watchdog.isActive(), timeout=WAIT)

        def messages() -> list[bytes]:
            while True:
                try:
                    received.append(listener.recv(64))
                except BlockingIOError:
                    return received

        qtbot.waitUntil(lambda: messages().count(b"WATCHDOG=1") >= 2, timeout=WAIT)
        assert received[0] == b"READY=1"
        kiosk.stop()
        assert messages()[-1] == b"STOPPING=1"


def test_tiles_show_the_apps_icons_from_the_server(
    qtbot: QtBot, make_kiosk: Callable[..., KioskApp], badge_video: Callable[..., str], district: District
) -> None:
    blue = np.zeros((64, 64, 3), np.uint8)
    blue[:] = (180, 119, 31)  # BGR of #1f77b4
    with transaction(district.runtime.factory) as session:
        starfall = session.get(CatalogApp, "starfall")
        assert starfall is not None
        catalog.set_icon(session, starfall, cv2.imencode(".png", blue)[1].tobytes(), actor="test")
    kiosk: KioskApp = make_kiosk(badge_video(district.payloads[JOSE], "José García"))
    qtbot.waitUntil(lambda: kiosk.controller.state == State.DASHBOARD, timeout=WAIT)
    qtbot.waitUntil(lambda: any(t.icon_pixmap is not None for t in kiosk.window.dashboard.tiles), timeout=WAIT)
    tiles = {tile.text(): tile for tile in kiosk.window.dashboard.tiles}
    assert tiles["Starfall"].icon_pixmap is not None
    assert all(tile.icon_pixmap is None for name, tile in tiles.items() if name != "Starfall"), "no icon: a letter"
    picture = tiles["Starfall"].grab().toImage()
    centre = picture.pixelColor(picture.width() // 2, picture.height() // 3)
    assert (centre.red(), centre.green(), centre.blue()) == (31, 119, 180), "the icon itself is drawn"
