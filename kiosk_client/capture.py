"""Camera capture on its own thread. The newest frame wins: nothing queues up behind a slow
consumer, and stale frames are simply overwritten."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import Signal, Slot

from kiosk_client.background import Worker

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


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


class FrameSource:
    """A camera index, a device path, a video file (looped) or an image file (repeated)."""

    def __init__(self, spec: str, width: int, height: int) -> None:
        self.spec = spec
        self.width, self.height = width, height
        self.is_file = not spec.isdigit() and not spec.startswith("/dev/")
        self._image: np.ndarray | None = None
        self._capture: cv2.VideoCapture | None = None
        self.fps = 30.0

    def open(self) -> bool:
        if self.is_file and Path(self.spec).suffix.lower() in IMAGE_SUFFIXES:
            image = cv2.imread(self.spec, cv2.IMREAD_GRAYSCALE)
            self._image = image
            return image is not None
        capture = cv2.VideoCapture(int(self.spec) if self.spec.isdigit() else self.spec)
        if not capture.isOpened():
            capture.release()
            return False
        if not self.is_file:
            # Ask for 1280x720; cameras give what they can, and we report what we got.
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # no backlog of old frames in the driver
        reported = capture.get(cv2.CAP_PROP_FPS)
        self.fps = reported if 1 <= reported <= 240 else 30.0
        self._capture = capture
        return True

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
        return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)

    def size(self) -> tuple[int, int]:
        if self._image is not None:
            return int(self._image.shape[1]), int(self._image.shape[0])
        if self._capture is None:
            return 0, 0
        return int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))

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
