"""Camera capture on its own thread. The newest frame wins: nothing queues up behind a slow
consumer, and stale frames are simply overwritten."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import Signal, Slot

from kiosk_client.background import Worker

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
# Below this many frames a second a badge waved past is missed; a camera that gives the asked size
# only slower (uncompressed 1080p over USB 2 is 5 fps) is asked for 1280x720 instead.
MIN_FPS = 10.0
FALLBACK_SIZE = (1280, 720)


@dataclass(frozen=True)
class CameraMode:
    """What the camera actually delivers (asked for and given can differ): `badge-kiosk check` says it."""

    width: int
    height: int
    fps: float
    pixel_format: str  # the camera's four-character code (MJPG, YUYV), or "video file" / "image file"

    def __str__(self) -> str:
        return f"{self.width}x{self.height} {self.pixel_format} at {self.fps:g} fps"


def fourcc_text(value: float) -> str:
    """OpenCV reports a pixel format as a number holding four ASCII characters."""
    code = int(value).to_bytes(4, "little")
    return code.decode("ascii", "replace").strip("\x00 ") if code.isascii() and any(code) else "unknown"


@dataclass(frozen=True)
class Frame:
    """A grayscale frame (what the decoder reads) and its number since capture started."""

    number: int
    gray: np.ndarray
    at: float  # time.monotonic() when captured


def brightness(gray: np.ndarray) -> float:
    """Mean brightness (0-255) from every 8th pixel: cheap, and the one measure "too dark" uses."""
    return float(gray[::8, ::8].mean())


class LatestFrame:
    """A one-slot mailbox: ``put`` replaces whatever was there; ``take`` empties it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: Frame | None = None
        self.dropped = 0

    def put(self, frame: Frame) -> None:
        with self._lock:
            if self._frame is not None:
                self.dropped += 1  # the consumer was busy: the older frame is stale, drop it
            self._frame = frame

    def take(self) -> Frame | None:
        with self._lock:
            frame, self._frame = self._frame, None
            return frame

    def peek(self) -> Frame | None:
        with self._lock:
            return self._frame


def _opencv_capture(spec: int | str) -> cv2.VideoCapture:
    # Two calls because OpenCV's typing has one signature for a device index, one for a path.
    if isinstance(spec, int):
        return cv2.VideoCapture(spec)
    return cv2.VideoCapture(spec)


class FrameSource:
    """A camera index, a device path, a video file (looped) or an image file (repeated).

    A camera is asked for ``width`` x ``height`` (1920x1080 by default) in MJPG: over USB most
    webcams give 1080p at 30 fps only compressed. A camera without MJPG keeps its own format;
    one that gives the size only below ``MIN_FPS`` is asked for 1280x720. A larger frame reads a
    badge from further away (benchmarks/reach.py) and zxing-cpp still takes a few ms for it.
    ``open_capture`` is where a test puts a stand-in for a webcam this machine does not have.
    """

    def __init__(
        self,
        spec: str,
        width: int,
        height: int,
        pixel_format: str = "MJPG",
        open_capture: Callable[[int | str], Any] | None = None,
    ) -> None:
        self.spec = spec
        self.width, self.height = width, height
        self.pixel_format = pixel_format
        self.open_capture: Callable[[int | str], Any] = open_capture or _opencv_capture
        self.is_file = not spec.isdigit() and not spec.startswith("/dev/")
        self._image: np.ndarray | None = None
        self._capture: Any = None
        self.fps = 30.0

    def open(self) -> bool:
        if self.is_file and Path(self.spec).suffix.lower() in IMAGE_SUFFIXES:
            image = cv2.imread(self.spec, cv2.IMREAD_GRAYSCALE)
            self._image = image
            return image is not None
        capture = self.open_capture(int(self.spec) if self.spec.isdigit() else self.spec)
        if not capture.isOpened():
            capture.release()
            return False
        if not self.is_file:
            self._negotiate(capture)
        reported = capture.get(cv2.CAP_PROP_FPS)
        self.fps = reported if 1 <= reported <= 240 else 30.0
        self._capture = capture
        return True

    def _negotiate(self, capture: Any) -> None:
        # The format first: a driver offers sizes per format (V4L2 sets them together).
        if self.pixel_format:
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*self.pixel_format))
        sizes = [(self.width, self.height)]
        if self.width * self.height > FALLBACK_SIZE[0] * FALLBACK_SIZE[1]:
            sizes.append(FALLBACK_SIZE)
        for width, height in sizes:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            capture.set(cv2.CAP_PROP_FPS, 30)
            if capture.get(cv2.CAP_PROP_FPS) >= MIN_FPS:
                break
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # no backlog of old frames in the driver

    def read(self) -> np.ndarray | None:
        if self._image is not None:
            return self._image
        if self._capture is None:
            return None
        ok, frame = self._capture.read()
        if not ok and self.is_file:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)  # loop the demo video
            ok, frame = self._capture.read()
        if not ok or frame is None:
            return None
        picture: np.ndarray = frame
        return picture if picture.ndim == 2 else cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY)

    def size(self) -> tuple[int, int]:
        if self._image is not None:
            return int(self._image.shape[1]), int(self._image.shape[0])
        if self._capture is None:
            return 0, 0
        return int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))

    def mode(self) -> CameraMode:
        """The mode in use (after ``open``)."""
        width, height = self.size()
        if self._image is not None:
            return CameraMode(width, height, self.fps, "image file")
        if self.is_file:
            return CameraMode(width, height, self.fps, "video file")
        fourcc = fourcc_text(self._capture.get(cv2.CAP_PROP_FOURCC)) if self._capture is not None else "unknown"
        return CameraMode(width, height, self.fps, fourcc)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
        self._capture = None
        self._image = None


class CaptureWorker(Worker):
    """Reads frames into two mailboxes (display, decode) until asked to stop.

    Signals are events, never one per frame: the GUI polls ``display`` on its own timer.
    """

    name = "capture"
    opened = Signal(int, int, float)  # width, height, frames per second
    lost = Signal(str)

    def __init__(self, source: FrameSource, display: LatestFrame, decode: LatestFrame) -> None:
        super().__init__()
        self.source = source
        self.display = display
        self.decode = decode
        self.frames = 0

    @Slot()
    def run(self) -> None:
        with self.reporting_failures():
            while not self._stop.is_set():
                if not self.source.open():
                    self.lost.emit(f"cannot open camera {self.source.spec}")
                    self._stop.wait(1.0)  # keep trying: a camera plugged back in comes back
                    continue
                width, height = self.source.size()
                self.opened.emit(width, height, self.source.fps)
                self._pump()
                self.source.close()

    def _pump(self) -> None:
        interval = 1.0 / self.source.fps if self.source.is_file else 0.0
        next_at = time.monotonic()
        while not self._stop.is_set():
            gray = self.source.read()
            if gray is None:
                self.lost.emit("the camera stopped sending pictures")
                return
            self.frames += 1
            frame = Frame(self.frames, gray, time.monotonic())
            self.display.put(frame)
            self.decode.put(frame)
            if interval:  # a file plays at its own frame rate, as a camera would deliver it
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_at = time.monotonic()
