"""Putting the kiosk together: workers on their threads, the controller, the window."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication

from kiosk_client.api import BadgeServerClient
from kiosk_client.background import Worker
from kiosk_client.capture import CaptureWorker, FrameSource, LatestFrame
from kiosk_client.config import KioskConfig
from kiosk_client.controller import KioskController, State
from kiosk_client.decoder import default_scanner
from kiosk_client.errors import KioskError
from kiosk_client.sound import SoundPlayer
from kiosk_client.systemd import notify, watchdog_interval_ms
from kiosk_client.ui import KioskWindow
from kiosk_client.workers import DecodeWorker, NetworkWorker


class ActivityFilter(QObject):
    """Any touch, click or key press on the kiosk counts as activity (resets the idle timer)."""

    def __init__(self, controller: KioskController) -> None:
        super().__init__()
        self.controller = controller

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin, QEvent.Type.KeyPress):
            self.controller.activity()
        return False


# EX_SOFTWARE (sysexits.h): systemd restarts the kiosk, and `systemctl status` shows it failed.
EXIT_WORKER_FAILED = 70


@dataclass(frozen=True)
class WorkerThread:
    """A worker and the QThread it lives on, kept together from start to stop."""

    worker: Worker
    thread: QThread


def on_own_thread(worker: Worker, loop: Callable[[], None] | None = None) -> WorkerThread:
    """Move ``worker`` to a new thread; ``loop`` (if any) runs there as soon as the thread starts."""
    thread = QThread()
    thread.setObjectName(f"kiosk-{worker.name}")
    worker.moveToThread(thread)
    if loop is not None:
        thread.started.connect(loop)
    return WorkerThread(worker, thread)


#: How often a kiosk tells the server it is on, signed in to or not (the server's metrics read it).
CHECK_IN_SECONDS = 120


class KioskApp(QObject):
    """The whole kiosk. ``start()`` shows it; ``stop()`` ends every worker cooperatively.

    A worker that fails ends the kiosk with ``EXIT_WORKER_FAILED`` as the application's exit status.
    """

    request_check_in = Signal()

    def __init__(self, config: KioskConfig, client: BadgeServerClient) -> None:
        super().__init__()
        self.config = config
        self.display, self.decode_box = LatestFrame(), LatestFrame()
        self.controller = KioskController(config)
        self.window = KioskWindow(config.language)
        self.sound = SoundPlayer(config.chime)
        self.capture = CaptureWorker(
            FrameSource(config.camera, config.camera_width, config.camera_height, config.camera_format),
            self.display,
            self.decode_box,
        )
        self.decoder = DecodeWorker(self.decode_box, default_scanner())
        self.network = NetworkWorker(client)
        self.workers = [
            on_own_thread(self.capture, loop=self.capture.run),
            on_own_thread(self.decoder, loop=self.decoder.run),
            on_own_thread(self.network),
        ]
        for pair in self.workers:
            pair.worker.failed.connect(self._worker_failed, Qt.ConnectionType.QueuedConnection)
        c = self.controller
        self.capture.opened.connect(c.camera_opened)
        self.capture.lost.connect(c.camera_lost)
        self.decoder.badge.connect(c.badge_seen)
        self.decoder.foreign.connect(c.foreign_code)
        self.decoder.brightness.connect(c.brightness)
        c.request_sign_in.connect(self.network.sign_in)
        c.request_sign_out.connect(self.network.sign_out)
        c.request_health.connect(self.network.check_health)
        c.request_handoff.connect(self.network.hand_off)
        self.network.handed_off.connect(c.handed_off)
        self.network.handoff_failed.connect(c.handoff_failed)
        self.network.signed_in.connect(c.signed_in)
        self.network.icons_ready.connect(c.icons_ready)
        self.network.refused.connect(c.refused)
        self.network.unreachable.connect(c.unreachable)
        self.network.reachable.connect(c.reachable)
        c.changed.connect(self.window.show_view)
        c.sound.connect(self.sound.play)
        self.window.dashboard.open_app.connect(c.open_app)
        self.window.dashboard.sign_out.connect(lambda: c.sign_out("button"))
        self.window.pin.submitted.connect(c.enter_pin)
        self.window.pin.cancelled.connect(c.cancel_pin)
        self.activity = ActivityFilter(c)
        # The GUI shows the newest frame at the display rate; it never receives one signal per frame.
        self.repaint = QTimer(interval=33)
        self.repaint.timeout.connect(self._show_latest)
        # Pinged from the GUI thread: if its event loop hangs, the pings stop and systemd restarts us.
        self.watchdog = QTimer(interval=watchdog_interval_ms() or 0)
        self.watchdog.timeout.connect(lambda: notify("WATCHDOG=1"))
        # Every few minutes, whether or not anyone signs in: the server's "kiosks seen" metric and
        # IT's "kiosk silent during school hours" alert rest on it.
        self.check_in = QTimer(interval=CHECK_IN_SECONDS * 1000)
        self.check_in.timeout.connect(self.request_check_in.emit)
        self.request_check_in.connect(self.network.check_in)
        self.stopped = False
        self.failed_worker: str | None = None

    def _show_latest(self) -> None:
        frame = self.display.take()
        if frame is not None and self.controller.state not in (State.WELCOME, State.DASHBOARD, State.PIN):
            self.window.scan.show_frame(frame.gray)

    def start(self) -> None:
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        app.installEventFilter(self.activity)
        app.aboutToQuit.connect(self.stop)
        for pair in self.workers:
            pair.thread.start()
        self.window.show_view(self.controller.view())
        if self.config.fullscreen:
            self.window.showFullScreen()
        else:
            self.window.resize(1280, 800)
            self.window.show()
        self.repaint.start()
        self.check_in.start()
        self.request_check_in.emit()
        notify("READY=1")
        if self.watchdog.interval():
            self.watchdog.start()

    def stop(self) -> None:
        """Stop workers with their flags, end the session on the server, close the window."""
        if self.stopped:
            return
        self.stopped = True
        notify("STOPPING=1")
        self.watchdog.stop()
        self.repaint.stop()
        self.check_in.stop()
        self.controller.shutdown()
        token = self.controller.session_token
        for pair in self.workers:
            pair.worker.stop()
            pair.thread.quit()
        for pair in self.workers:
            # No terminate(): every loop checks its flag and every request has time-outs, so this
            # ends; a QThread destroyed while running would take the process down.
            pair.thread.wait()
        if token:
            with contextlib.suppress(KioskError):  # the server session ends too, not only the local one
                self.network.client.logout(token)
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.activity)
        self.window.close()
        self.sound.close()

    @Slot(str)
    def _worker_failed(self, worker: str) -> None:
        """On the GUI thread: stop everything, the watchdog pings too, and leave Qt's event loop
        with ``EXIT_WORKER_FAILED``, which cli.py passes to ``sys.exit``."""
        if self.stopped:
            return  # it failed while the kiosk was ending anyway: logged, and nothing left to stop
        self.failed_worker = worker
        try:
            self.stop()
        finally:  # even if ending the student's session fails too, the kiosk must not linger
            QApplication.exit(EXIT_WORKER_FAILED)
