"""A native kiosk's tile tap -> the app's page, the real kiosk code against a real local server.

The kiosk's controller and network worker (on its own QThread, as in the kiosk) with a signed-in
student; each round taps a tile: the worker asks for a hand-off URL (``POST /api/v1/handoff``),
the controller receives it, and a fresh HTTP client standing in for the new browser profile
opens it: ``/handoff/<code>`` (session cookie) -> ``/apps/{id}/open`` -> the app's page (a plain
app on loopback). Browser start-up is not counted: it is the browser's, the same with or without
the hand-off. Also: server time of the redemption alone (``GET /handoff/<code>``).

Run: .venv/bin/python -m benchmarks.handoff [--postgres URL]
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import uvicorn
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from badge_server.app import create_app
from badge_server.ops.demo import build_demo
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.store.db import transaction
from badge_server.store.models import App as CatalogApp
from kiosk_client.api import App, BadgeServerClient
from kiosk_client.app import on_own_thread
from kiosk_client.config import KioskConfig
from kiosk_client.controller import KioskController
from kiosk_client.workers import NetworkWorker

ROUNDS = 30


class PlainApp(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>App</title><h1>The app</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="badge-handoff-"))
    port = free_port()
    database_url = sys.argv[2] if sys.argv[1:2] == ["--postgres"] else None
    settings = Settings(
        _env_file=None,
        env="development",
        data_dir=folder / "data",
        database_url=database_url,
        public_url=f"http://127.0.0.1:{port}",
        rate_per_address_per_minute=100_000,
    )
    build_demo(settings, host="127.0.0.1", port=port)
    runtime = Runtime.start(settings)
    app_server = ThreadingHTTPServer(("127.0.0.1", 0), PlainApp)
    threading.Thread(target=app_server.serve_forever, daemon=True).start()
    with transaction(runtime.factory) as session:
        if session.get(CatalogApp, "bench") is None:
            session.add(
                CatalogApp(id="bench", name="Bench", launch_url=f"http://127.0.0.1:{app_server.server_address[1]}/")
            )
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    token = json.loads((folder / "data" / "demo-device.json").read_text())["device_token"]
    client = BadgeServerClient(f"http://127.0.0.1:{port}", device_token=token)
    from badge_server import badges

    with transaction(runtime.factory) as session:
        badge = badges.current_badge(session, "st-0001")
        assert badge is not None
        payload = str(badges.reprint(session, runtime.keys, badge, actor="benchmark").payload)
    exchanged = client.exchange(payload)
    session_token = client.launch(exchanged.launch_code)
    apps = client.apps(session_token)
    tile = next(a for a in apps if a.id == "bench")

    qt = QApplication([])
    controller = KioskController(KioskConfig(server_url=client.server_url, chime=False))
    worker = NetworkWorker(client)
    pair = on_own_thread(worker)
    controller.request_handoff.connect(worker.hand_off)
    worker.handed_off.connect(controller.handed_off)
    pair.thread.start()
    controller.signed_in(exchanged.user, apps, session_token)

    tapped: list[float] = []
    url_ready: list[float] = []
    app_page: list[float] = []
    redeem_ms: list[float] = []

    def browser(url: str) -> None:  # instrumented for the measurement: the new browser profile
        url_ready.append(time.perf_counter())
        with httpx.Client() as fresh:
            started = time.perf_counter()
            landed = fresh.get(url)
            redeem_ms.append((time.perf_counter() - started) * 1000)
            page = fresh.get(f"{client.server_url}{landed.headers['location']}", follow_redirects=True)
            assert page.status_code == 200 and "The app" in page.text, page.text[:200]
        app_page.append(time.perf_counter())
        if len(app_page) < ROUNDS:
            QTimer.singleShot(50, tap)
        else:
            qt.quit()

    controller._open_browser = browser  # type: ignore[method-assign]

    def tap(app: App = tile) -> None:
        tapped.append(time.perf_counter())
        controller.open_app(app)

    QTimer.singleShot(100, tap)
    QTimer.singleShot(120_000, qt.quit)
    qt.exec()
    worker.stop()
    pair.thread.quit()
    pair.thread.wait()
    controller.shutdown()
    server.should_exit = True
    app_server.shutdown()
    total = [(page - tap_at) * 1000 for tap_at, page in zip(tapped, app_page, strict=False)]
    kiosk = [(ready - tap_at) * 1000 for tap_at, ready in zip(tapped, url_ready, strict=False)]
    backend = "PostgreSQL" if database_url else "SQLite"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {backend}")
    print("| step | median | p95 | max |")
    print("|---|---|---|---|")
    for name, values in (
        ("tap -> hand-off URL at the controller (POST /api/v1/handoff off the GUI thread)", kiosk),
        ("GET /handoff/<code> (redeem: new session, cookie, redirect)", redeem_ms),
        ("tap -> the app's page (hand-off URL, /apps/{id}/open, the app)", total),
    ):
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        print(f"| {name} | {statistics.median(values):.1f} ms | {p95:.1f} ms | {max(values):.1f} ms |")


if __name__ == "__main__":
    main()
