"""What the kiosk's background workers share: a stop flag, and failures that are never swallowed.

An exception no worker expects stops that worker, is logged, and is reported to the GUI thread,
which ends the kiosk so that systemd restarts it. Swallowed, it would leave a kiosk whose window
still answers the watchdog but which never reads another badge.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from PySide6.QtCore import QObject, Signal

from kiosk_client.events import log_event


class Worker(QObject):
    """A QObject that lives on its own QThread and is stopped by its flag, never terminated: a
    terminated thread may still hold the camera or be half-way through a request."""

    name: ClassVar[str]
    failed = Signal(str)  # the worker's name; emitted on the worker's thread, so connect it queued

    def __init__(self) -> None:
        super().__init__()
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the worker to end (thread-safe)."""
        self._stop.set()

    @contextmanager
    def reporting_failures(self) -> Iterator[None]:
        """Wraps the worker's own code: anything it raises stops the worker and emits ``failed``."""
        try:
            yield
        except Exception as exc:
            self._stop.set()  # calls already queued for this worker do nothing
            log_event("worker_failed", worker=self.name, error=type(exc).__name__, at=code_path(exc))
            self.failed.emit(self.name)


def code_path(exc: BaseException) -> list[str]:
    """Where the exception was raised, as ``file:line function`` from the worker's loop or slot in.

    Only code locations: an exception's message or arguments may quote a badge payload or a token.
    """
    return [
        f"{Path(frame.f_code.co_filename).name}:{line} {frame.f_code.co_name}"
        for frame, line in traceback.walk_tb(exc.__traceback__)
        if frame.f_code.co_filename != __file__  # the catching context manager is no news
    ]
