"""Badge becomes visible -> welcome screen, the real kiosk against a real local server.

A video plays into the kiosk's capture path as a webcam would: empty frames, then a badge. The
time runs from the capture of the first frame with the badge to the controller switching to the
welcome screen (decode + exchange + launch + apps over HTTP on loopback). Several rounds: after
each welcome the kiosk signs out and the badge leaves view.

Run: .venv/bin/python -m benchmarks.latency
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import platform
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from badge_server.app import create_app
from badge_server.ops.demo import build_demo
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from kiosk_client.api import BadgeServerClient
from kiosk_client.app import KioskApp
from kiosk_client.capture import Frame, LatestFrame
from kiosk_client.config import KioskConfig
from kiosk_client.controller import State
from kiosk_client.frames import write_badge_video

FPS = 30
EMPTY_SECONDS = 1.0
ROUNDS = 8


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="badge-latency-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        _env_file=None,
        env="development",
        data_dir=folder / "data",
        public_url=f"http://127.0.0.1:{port}",
        rate_per_badge_per_minute=1000,
    )
    build_demo(settings, host="127.0.0.1", port=port)
    runtime = Runtime.start(settings)
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    token = json.loads((folder / "data" / "demo-device.json").read_text())["device_token"]
    video = folder / "badge.avi"
    from badge_server import badges
    from badge_server.store.db import transaction

    with transaction(runtime.factory) as session:
        badge = badges.current_badge(session, "st-0001")
        assert badge is not None
        payload = str(badges.reprint(session, runtime.keys, badge, actor="benchmark").payload)
    write_badge_video(str(video), payload=payload, fps=FPS, empty_seconds=EMPTY_SECONDS, held_seconds=2)
    first_badge_frame = int(EMPTY_SECONDS * FPS) + 1
    frames_per_loop = int(EMPTY_SECONDS * FPS) * 2 + 2 * FPS

    app = QApplication([])
    config = KioskConfig(
        server_url=f"http://127.0.0.1:{port}", camera=str(video), fullscreen=False, chime=False, welcome_seconds=0.5
    )
    kiosk = KioskApp(config, BadgeServerClient(config.server_url, device_token=token))
    visible_at: list[float] = []
    welcome_at: list[float] = []
    original_put = LatestFrame.put

    def stamp(self: LatestFrame, frame: Frame) -> None:
        if self is kiosk.decode_box and frame.number % frames_per_loop == first_badge_frame % frames_per_loop:
            visible_at.append(frame.at)
        original_put(self, frame)

    LatestFrame.put = stamp  # type: ignore[method-assign]  # instrumented for the measurement

    def changed(view: object) -> None:
        if getattr(view, "state", None) == State.WELCOME:
            welcome_at.append(time.monotonic())
            QTimer.singleShot(600, lambda: kiosk.controller.sign_out("benchmark"))
            if len(welcome_at) >= ROUNDS:
                QTimer.singleShot(700, app.quit)

    kiosk.controller.changed.connect(changed)
    kiosk.start()
    QTimer.singleShot(120_000, app.quit)
    app.exec()
    kiosk.stop()
    server.should_exit = True
    latencies = []
    for seen in welcome_at:
        before = [v for v in visible_at if v <= seen]
        if before:
            latencies.append((seen - before[-1]) * 1000)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"rounds {len(latencies)}: median {statistics.median(latencies):.0f} ms, "
        f"max {max(latencies):.0f} ms, all {[round(x) for x in latencies]}"
    )


if __name__ == "__main__":
    main()
