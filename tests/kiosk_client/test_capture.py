"""Capture on its own thread: latest frame wins, camera loss and return, cooperative stop."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot

from kiosk_client.capture import CaptureWorker, Frame, FrameSource, LatestFrame


def test_latest_frame_wins_and_counts_what_it_dropped() -> None:
    box = LatestFrame()
    for n in range(5):
        box.put(Frame(n, np.zeros((2, 2), np.uint8), 0.0))
    taken = box.take()
    assert taken is not None and taken.number == 4
    assert box.take() is None and box.dropped == 4


class UnpluggedCamera(FrameSource):
    """Stands in for a USB webcam that is unplugged after a while and plugged back in."""

    def __init__(self) -> None:
        super().__init__("0", 640, 480)
        self.opens = 0
        self.left = 0

    def open(self) -> bool:
        self.opens += 1
        if self.opens == 2:
            return False  # still unplugged on the first retry
        self.left = 20
        self.is_file = False
        return True

    def read(self) -> np.ndarray | None:
        if self.left == 0:
            return None  # unplugged: no more pictures
        self.left -= 1
        return np.full((480, 640), 120, np.uint8)

    def size(self) -> tuple[int, int]:
        return 640, 480

    def close(self) -> None:
        pass


def test_camera_lost_then_back_and_the_worker_stops_on_request(qtbot: QtBot) -> None:
    display, decode = LatestFrame(), LatestFrame()
    source = UnpluggedCamera()
    worker = CaptureWorker(source, display, decode)
    thread = QThread()
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    events: list[str] = []
    worker.opened.connect(lambda w, h, fps: events.append("opened"))
    worker.lost.connect(lambda reason: events.append("lost"))
    thread.start()
    try:
        qtbot.waitUntil(lambda: events.count("opened") >= 2, timeout=10_000)
        assert events[:4] == ["opened", "lost", "lost", "opened"]  # sent pictures, lost, still lost, back
        # Pictures flow again once it is back (waited for: the signal may come before the frames).
        qtbot.waitUntil(lambda: worker.frames >= 40, timeout=10_000)
        assert decode.peek() is not None
    finally:
        worker.stop()
        thread.quit()
        assert thread.wait(10_000)
