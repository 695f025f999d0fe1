"""Capture on its own thread: latest frame wins, camera loss and return, cooperative stop."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot

from kiosk_client.capture import CaptureWorker, Frame, FrameSource, LatestFrame, fourcc_text


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


class V4l2Camera:
    """Stands in for a USB webcam behind OpenCV's V4L2 backend (this machine has none): it offers
    some (format, width, height) modes, each at a frame rate, and settles a request on the nearest
    size of the format in force, as a V4L2 driver does; a format it lacks leaves the old one."""

    def __init__(self, modes: dict[tuple[str, int, int], float], start: str = "YUYV") -> None:
        self.modes = modes
        self.format = start
        self.width, self.height = 640, 480
        self.asked: list[tuple[str, float]] = []

    def isOpened(self) -> bool:
        return True

    def set(self, prop: int, value: float) -> bool:
        names = {cv2.CAP_PROP_FOURCC: "fourcc", cv2.CAP_PROP_FRAME_WIDTH: "width", cv2.CAP_PROP_FRAME_HEIGHT: "height"}
        self.asked.append((names.get(prop, str(prop)), value))
        if prop == cv2.CAP_PROP_FOURCC:
            wanted = fourcc_text(value)
            if any(f == wanted for f, _, _ in self.modes):
                self.format = wanted
        elif prop in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT):
            want_w = value if prop == cv2.CAP_PROP_FRAME_WIDTH else self.width
            want_h = value if prop == cv2.CAP_PROP_FRAME_HEIGHT else self.height
            sizes = [(w, h) for f, w, h in self.modes if f == self.format]
            self.width, self.height = min(sizes, key=lambda s: abs(s[0] - want_w) + abs(s[1] - want_h))
        return True

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_FOURCC:
            return float(cv2.VideoWriter.fourcc(*self.format))
        if prop == cv2.CAP_PROP_FPS:
            return self.modes[(self.format, self.width, self.height)]
        return {cv2.CAP_PROP_FRAME_WIDTH: self.width, cv2.CAP_PROP_FRAME_HEIGHT: self.height}.get(prop, 0.0)

    def read(self) -> tuple[bool, np.ndarray]:
        return True, np.full((self.height, self.width, 3), 128, np.uint8)

    def release(self) -> None:
        pass


def opened_on(camera: V4l2Camera, pixel_format: str = "MJPG") -> FrameSource:
    source = FrameSource("0", 1920, 1080, pixel_format, open_capture=lambda spec: camera)
    assert source.open()
    return source


def test_a_webcam_with_mjpg_is_read_at_1080p_and_30_fps() -> None:
    camera = V4l2Camera(
        {("YUYV", 640, 480): 30, ("YUYV", 1920, 1080): 5, ("MJPG", 1280, 720): 30, ("MJPG", 1920, 1080): 30}
    )
    source = opened_on(camera)
    assert str(source.mode()) == "1920x1080 MJPG at 30 fps"
    assert camera.asked[0][0] == "fourcc", "the format is set before the size (V4L2 sizes are per format)"
    gray = source.read()
    assert gray is not None and gray.shape == (1080, 1920)


def test_a_webcam_that_gives_1080p_only_slowly_is_asked_for_720p() -> None:
    """Uncompressed 1080p over USB 2 comes at 5 fps: a badge waved past would be missed."""
    camera = V4l2Camera({("YUYV", 640, 480): 30, ("YUYV", 1280, 720): 10, ("YUYV", 1920, 1080): 5})
    source = opened_on(camera)
    assert str(source.mode()) == "1280x720 YUYV at 10 fps"


def test_a_720p_webcam_gives_its_best_and_the_mode_says_so() -> None:
    camera = V4l2Camera({("MJPG", 640, 480): 30, ("MJPG", 1280, 720): 30}, start="MJPG")
    assert str(opened_on(camera, pixel_format="").mode()) == "1280x720 MJPG at 30 fps"
    assert ("fourcc", cv2.VideoWriter.fourcc(*"MJPG")) not in camera.asked, "an empty format asks for none"


def test_files_report_what_they_are(tmp_path: Path) -> None:
    image = tmp_path / "badge.png"
    cv2.imwrite(str(image), np.full((300, 400), 200, np.uint8))
    source = FrameSource(str(image), 1920, 1080)
    assert source.open() and str(source.mode()) == "400x300 image file at 30 fps"
    assert fourcc_text(0) == "unknown" and fourcc_text(cv2.VideoWriter.fourcc(*"YUYV")) == "YUYV"
