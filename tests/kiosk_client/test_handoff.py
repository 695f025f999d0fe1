"""A kiosk tile opens the app's browser signed in: the hand-off through the client's transport
seam, against the real server on loopback, and in the real (offscreen) kiosk."""

from __future__ import annotations

import json
import logging
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from badge_server.store.db import transaction
from badge_server.store.models import App as CatalogApp
from badge_server.store.models import StudentSession
from kiosk_client.api import BadgeServerClient
from kiosk_client.app import KioskApp
from kiosk_client.config import KioskConfig
from kiosk_client.controller import KioskController, State
from kiosk_client.errors import ServerRefused, ServerUnreachable
from kiosk_client.workers import NetworkWorker
from tests.support.api import sign_in
from tests.support.browser import CHROMIUM_ARGS
from tests.support.district import District
from tests.support.servers import LoopbackServer

JOSE = "st-0001"
WAIT = 15_000


class CannedServer(requests.adapters.BaseAdapter):
    """The transport seam: records each request and answers ``status`` with ``body``."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__()
        self.status, self.body = status, body
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        response = requests.Response()
        response.status_code, response._content = self.status, json.dumps(self.body).encode()
        response.headers["Content-Type"] = "application/json"
        return response

    def close(self) -> None:
        pass


def client_of(canned: CannedServer) -> BadgeServerClient:
    session = requests.Session()
    session.mount("https://", canned)
    return BadgeServerClient("https://badges.example", session=session, device_token="device-token")


def test_the_hand_off_call_carries_the_session_as_bearer_and_the_device_in_its_own_header() -> None:
    canned = CannedServer(200, {"url": "https://badges.example/handoff/abc", "expires_in": 10})
    assert client_of(canned).handoff("session-token", "starfall") == "https://badges.example/handoff/abc"
    sent = canned.sent[0]
    assert sent.method == "POST" and sent.url == "https://badges.example/api/v1/handoff"
    assert sent.headers["Authorization"] == "Bearer session-token"
    assert sent.headers["X-Device-Token"] == "device-token"
    assert isinstance(sent.body, bytes) and json.loads(sent.body) == {"app_id": "starfall"}


def test_a_hand_off_url_in_clear_is_never_opened() -> None:
    canned = CannedServer(200, {"url": "http://badges.example/handoff/abc", "expires_in": 10})
    with pytest.raises(ServerUnreachable) as refused:
        client_of(canned).handoff("session-token", "starfall")
    assert "abc" not in str(refused.value)  # the code is not quoted into a log line


def test_an_older_server_without_hand_offs_falls_back_to_the_plain_link_with_a_warning(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    canned = CannedServer(404, {"detail": "Not Found"})
    with pytest.raises(ServerRefused) as refused:
        client_of(canned).handoff("session-token", "starfall")
    assert refused.value.status == 404
    worker = NetworkWorker(client_of(canned))
    with qtbot.waitSignal(worker.handed_off, timeout=WAIT) as opened:
        worker.hand_off("session-token", "starfall", "https://www.starfall.com/h/")
    assert opened.args == ["session-token", "https://www.starfall.com/h/"]
    warnings = [json.loads(r.getMessage()) for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [{"event": "handoff_unavailable", "app": "starfall", "status": 404}]


@pytest.mark.parametrize(("status", "code"), [(401, "session_not_valid"), (400, "sso_refused")])
def test_a_refused_hand_off_opens_nothing(qtbot: QtBot, status: int, code: str) -> None:
    worker = NetworkWorker(client_of(CannedServer(status, {"error": {"code": code, "message": "no"}})))
    with qtbot.waitSignal(worker.handoff_failed, timeout=WAIT) as failed:
        worker.hand_off("session-token", "starfall", "https://www.starfall.com/h/")
    assert failed.args == ["session-token", code]


def test_an_answer_for_a_child_who_signed_out_meanwhile_opens_nothing(tmp_path: Path) -> None:
    launched = tmp_path / "launched.txt"
    controller = KioskController(
        KioskConfig(
            server_url="http://127.0.0.1:1",
            browser_command=[sys.executable, "-c", f"open({str(launched)!r}, 'w').write('opened')"],
        )
    )
    try:
        controller.session_token = "the next child's session"
        controller.handed_off("the previous child's session", "http://127.0.0.1:1/handoff/abc")
        assert controller.browser is None and not launched.exists()
    finally:
        controller.shutdown()


def test_the_real_server_hands_off_to_a_browser_at_the_kiosks_address(
    server: LoopbackServer, district: District
) -> None:
    client = BadgeServerClient(server.url, device_token=district.device_token)
    with httpx.Client(base_url=server.url) as http:
        session_token = sign_in(http, district.device_token, district.payloads[JOSE])
    url = client.handoff(session_token, "starfall")
    assert url.startswith(f"{server.url}/handoff/") and session_token not in url
    with httpx.Client() as chromium:
        landed = chromium.get(url)
        assert landed.status_code == 303 and landed.headers["location"] == "/apps/starfall/open"
        assert chromium.get(f"{server.url}/api/v1/me").json()["first_name"] == "José"
    with pytest.raises(ServerRefused) as refused:
        client.handoff(session_token, "code-org")  # grades 2-5: not on José's (KG) dashboard
    assert refused.value.status == 400 and refused.value.code == "sso_refused"


def test_a_tile_tap_opens_the_browser_signed_in_and_sign_out_ends_it(
    qtbot: QtBot,
    make_kiosk: Callable[..., KioskApp],
    badge_video: Callable[..., str],
    server: LoopbackServer,
    district: District,
    launched: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="badge_kiosk")
    kiosk: KioskApp = make_kiosk(badge_video(district.payloads[JOSE], "José García"))
    qtbot.waitUntil(lambda: kiosk.controller.state == State.DASHBOARD, timeout=WAIT)
    tiles = {tile.text(): tile for tile in kiosk.window.dashboard.tiles}
    qtbot.mouseClick(tiles["Starfall"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: launched.exists() and launched.read_text() != "", timeout=WAIT)
    url = launched.read_text()  # what the (fake) browser command was given
    assert url.startswith(f"{server.url}/handoff/")
    assert kiosk.controller.session_token and kiosk.controller.session_token not in url
    with httpx.Client() as chromium:  # the browser opens it, from the kiosk's own address
        landed = chromium.get(url, follow_redirects=False)
        assert landed.status_code == 303
        opened = chromium.get(f"{server.url}{landed.headers['location']}")
        assert opened.headers["location"] == "https://www.starfall.com/h/"  # the app, signed in
        assert chromium.get(f"{server.url}/api/v1/me").status_code == 200
        qtbot.mouseClick(kiosk.window.dashboard.sign_out_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: chromium.get(f"{server.url}/api/v1/me").status_code == 401, timeout=WAIT)
    with transaction(district.runtime.factory) as session:
        ended = {row.client: row.end_reason for row in session.scalars(select(StudentSession))}
    assert ended == {"kiosk": "logout", "browser": "logout"}
    assert url not in caplog.text and url.rsplit("/", 1)[1] not in caplog.text  # the code is never logged
    assert kiosk.controller.session_token is None


def test_real_chromium_opened_by_the_kiosk_lands_signed_in(
    qtbot: QtBot,
    make_kiosk: Callable[..., KioskApp],
    badge_video: Callable[..., str],
    server: LoopbackServer,
    district: District,
    tmp_path: Path,
) -> None:
    """Debian's Chromium as the browser command, with the throw-away profile: the app it reaches
    (here the server's own dashboard, which shows a name only to a signed-in browser) greets José."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("!!! SKIPPING: Debian's chromium is not installed; scripts/install --dev installs it")
    with transaction(district.runtime.factory) as session:
        session.add(CatalogApp(id="home", name="Home", launch_url=f"{server.url}/dashboard", position=0))
    page = tmp_path / "page.html"
    # Headless, it prints the page it ends on (after every redirect) and exits.
    browser = (
        "import subprocess, sys; page = subprocess.run([sys.argv[1], '--headless', *sys.argv[2:]], "
        f"capture_output=True, text=True, timeout=60).stdout; open({str(page)!r}, 'w').write(page)"
    )
    kiosk: KioskApp = make_kiosk(
        badge_video(district.payloads[JOSE], "José García"),
        browser_command=[
            sys.executable,
            "-c",
            browser,
            chromium,
            *CHROMIUM_ARGS,
            "--user-data-dir={profile}",
            "--dump-dom",
        ],
    )
    qtbot.waitUntil(lambda: kiosk.controller.state == State.DASHBOARD, timeout=WAIT)
    tiles = {tile.text(): tile for tile in kiosk.window.dashboard.tiles}
    qtbot.mouseClick(tiles["Home"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.exists(), timeout=60_000)
    assert "Hi, José!" in page.read_text()
    qtbot.waitUntil(lambda: kiosk.controller.session_token is None, timeout=WAIT)  # the browser closed: signed out
    with transaction(district.runtime.factory) as session:
        handed = session.scalars(select(StudentSession).where(StudentSession.handed_off_from.is_not(None))).one()
        assert handed.end_reason == "logout"
