"""The kiosk's HTTP client against the real server on loopback, and through its transport seam."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk_client.api import App, BadgeServerClient, check_server_url, make_session
from kiosk_client.errors import ConfigError, ServerRefused, ServerUnreachable
from tests.support.district import District
from tests.support.servers import LoopbackServer


def test_enroll_exchange_launch_apps_and_logout(server: LoopbackServer, district: District) -> None:
    from badge_server import devices
    from badge_server.store.db import transaction

    with transaction(district.runtime.factory) as session:
        code = devices.create_enroll_code(session, "s-maple", minutes=5, actor="admin").code
    client = BadgeServerClient(server.url)
    _device_id, token = client.enroll(code, "Room 4 kiosk")
    client.device_token = token
    exchanged = client.exchange(district.payloads["st-0001"])
    assert exchanged.user["first_name"] == "José" and exchanged.expires_in <= 60
    session_token = client.launch(exchanged.launch_code)
    names = [app.name for app in client.apps(session_token)]
    assert "Starfall" in names
    client.logout(session_token)
    with pytest.raises(ServerRefused) as refused:
        client.apps(session_token)
    assert refused.value.status == 401 and refused.value.code == "session_not_valid"


def test_server_errors_carry_the_machine_code_and_retry_after(server: LoopbackServer, district: District) -> None:
    client = BadgeServerClient(server.url, device_token=district.device_token)
    with pytest.raises(ServerRefused) as refused:
        client.exchange("BL1:B001" + "A" * 26)
    assert refused.value.code == "badge_not_accepted" and "teacher" in refused.value.message


def test_too_many_tries_is_an_answer_with_retry_after_not_a_network_error(
    server: LoopbackServer, district: District
) -> None:
    district.runtime.settings.rate_per_badge_per_minute = 1
    client = BadgeServerClient(server.url, device_token=district.device_token)
    client.exchange(district.payloads["st-0001"])
    with pytest.raises(ServerRefused) as refused:
        client.exchange(district.payloads["st-0001"])
    assert refused.value.status == 429 and refused.value.code == "rate_limited"
    assert refused.value.retry_after is not None and 1 <= refused.value.retry_after <= 61


@pytest.mark.parametrize("url", ["http://badges.district.example", "http://10.1.2.3:8000", "ftp://x", "badges"])
def test_plain_http_is_refused_except_to_loopback(url: str) -> None:
    with pytest.raises(ConfigError):
        check_server_url(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:80", "https://a.b"])
def test_loopback_http_and_https_are_accepted(url: str) -> None:
    assert check_server_url(url + "/") == url


def test_nothing_listening_is_unreachable_after_connect_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ServerUnreachable, match="cannot reach"):
        BadgeServerClient(f"http://127.0.0.1:{port}", device_token="x").exchange("BL1:B001" + "A" * 26)
    assert time.monotonic() - started > 0.5  # it backed off and tried again


def test_a_request_the_server_may_have_seen_is_never_sent_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts and never answers: the read times out, and there is no retry."""
    monkeypatch.setattr("kiosk_client.api.READ_TIMEOUT", 0.3)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        listener.settimeout(3)
        try:
            while True:
                accepted.append(listener.accept()[0])
        except OSError:
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        client = BadgeServerClient(f"http://127.0.0.1:{listener.getsockname()[1]}", device_token="x")
        with pytest.raises(ServerUnreachable):
            client.exchange("BL1:B001" + "A" * 26)
        time.sleep(0.5)
        assert len(accepted) == 1
    finally:
        listener.close()
        thread.join(5)
        for connection in accepted:
            connection.close()


def test_the_transport_is_a_seam_tls_is_verified_and_a_ca_bundle_can_be_given(tmp_path: Path) -> None:
    assert make_session().verify is True
    bundle = tmp_path / "district-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    assert make_session(str(bundle)).verify == str(bundle)

    class Recorder(requests.adapters.BaseAdapter):
        def __init__(self) -> None:
            super().__init__()
            self.sent: list[requests.PreparedRequest] = []

        def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
            self.sent.append(request)
            response = requests.Response()
            response.status_code, response._content = 200, b'{"apps": []}'
            response.headers["Content-Type"] = "application/json"
            return response

        def close(self) -> None:
            pass

    session = requests.Session()
    recorder = Recorder()
    session.mount("https://", recorder)
    assert BadgeServerClient("https://badges.example", session=session).apps("session-token") == []
    assert recorder.sent[0].headers["Authorization"] == "Bearer session-token"
    assert recorder.sent[0].url == "https://badges.example/api/v1/me/apps"


def test_icons_are_fetched_once_and_a_missing_or_oversized_one_leaves_the_letter() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"x" * 100
    served = {"/apps/a/icon?v=1": (200, png), "/apps/b/icon?v=1": (200, b"x" * 300_000), "/apps/c/icon?v=1": (404, b"")}

    class Icons(requests.adapters.BaseAdapter):
        def __init__(self) -> None:
            super().__init__()
            self.asked: list[str] = []

        def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
            path = (request.path_url or "").split("badges.example", 1)[-1]
            self.asked.append(path)
            response = requests.Response()
            response.status_code, response._content = served[path]
            response._content_consumed = True
            return response

        def close(self) -> None:
            pass

    session = requests.Session()
    icons = Icons()
    session.mount("https://", icons)
    client = BadgeServerClient("https://badges.example", session=session)
    apps = [App(x, x.upper(), "https://app", f"/apps/{x}/icon?v=1", "#123456") for x in "abc"]
    apps.append(App("d", "D", "https://app", None, "#123456"))
    shown = client.with_icons(apps)
    assert [app.icon_image for app in shown] == [png, None, None, None]
    client.with_icons(apps)
    assert sorted(icons.asked) == sorted(served), "each icon asked for once per kiosk run"
