"""The kiosk's background workers: decoding frames and talking to the server, each on a QThread,
each stopped cooperatively. Results, and failures, come back to the GUI thread as queued signals."""

from __future__ import annotations

import contextlib
import time

from PySide6.QtCore import Signal, Slot

from badge_server.contract.payload import looks_like_badge
from kiosk_client.api import BadgeServerClient
from kiosk_client.background import Worker
from kiosk_client.capture import LatestFrame, brightness
from kiosk_client.decoder import BadgeScanner
from kiosk_client.errors import NotEnrolled, ServerRefused, ServerUnreachable
from kiosk_client.events import log_warning


class DecodeWorker(Worker):
    """Decodes the newest frame whenever it is free; frames that arrive meanwhile are dropped.

    It emits only events (a badge, a code that is not ours, a brightness reading twice a second),
    never one signal per frame, so the GUI thread is never flooded.
    """

    name = "decode"
    badge = Signal(str)
    foreign = Signal()
    brightness = Signal(float)

    def __init__(self, mailbox: LatestFrame, scanner: BadgeScanner) -> None:
        super().__init__()
        self.mailbox = mailbox
        self.scanner = scanner

    @Slot()
    def run(self) -> None:
        last_brightness = 0.0
        with self.reporting_failures():
            while not self._stop.is_set():
                frame = self.mailbox.take()
                if frame is None:
                    self._stop.wait(0.004)
                    continue
                found = self.scanner.scan(frame.gray)
                ours = [d.text for d in found if looks_like_badge(d.text)]
                if ours:
                    self.badge.emit(ours[0])
                elif found:
                    self.foreign.emit()  # never sent anywhere: only a gentle message
                if time.monotonic() - last_brightness > 0.5:
                    last_brightness = time.monotonic()
                    self.brightness.emit(brightness(frame.gray))


class NetworkWorker(Worker):
    """Runs server calls off the GUI thread; one at a time, in order.

    A refusal or an unreachable server is an answer for the child; anything else a call raises
    is a failure of the kiosk (``failed``).
    """

    name = "network"
    signed_in = Signal(object, object, str)  # user dict, list of apps, session token
    refused = Signal(str, str, int)  # code, message, retry-after seconds (0 if none)
    unreachable = Signal(str)
    reachable = Signal()
    icons_ready = Signal(str, object)  # the session token, its apps with their icons
    handed_off = Signal(str, str)  # the session token it was asked for, the URL to open
    handoff_failed = Signal(str, str)  # the session token it was asked for, the error code

    def __init__(self, client: BadgeServerClient) -> None:
        super().__init__()
        self.client = client

    def stop(self) -> None:
        """Calls still queued for this worker return at once; the one under way ends by its time-outs."""
        super().stop()

    @Slot(str, str)
    def sign_in(self, badge: str, pin: str) -> None:
        if self._stop.is_set():
            return
        with self.reporting_failures():
            try:
                exchanged = self.client.exchange(badge, pin or None)
                token = self.client.launch(exchanged.launch_code)
                apps = self.client.apps(token)
            except ServerRefused as exc:
                self.refused.emit(exc.code, exc.message, exc.retry_after or 0)
            except ServerUnreachable as exc:
                self.unreachable.emit(str(exc))
            except NotEnrolled as exc:
                self.refused.emit("device_not_authorized", str(exc), 0)
            else:
                self.signed_in.emit(exchanged.user, apps, token)
                # Icons after the welcome is on screen: they must not slow a sign-in down.
                with_icons = self.client.with_icons(apps)
                if with_icons != apps:
                    self.icons_ready.emit(token, with_icons)

    @Slot(str, str, str)
    def hand_off(self, session_token: str, app_id: str, launch_url: str) -> None:
        """A tile tap: the URL that opens the app signed in (a hand-off code), or, from a server
        that has no hand-offs (404), the app's plain link."""
        if self._stop.is_set():
            return
        with self.reporting_failures():
            try:
                url = self.client.handoff(session_token, app_id)
            except ServerRefused as exc:
                if exc.status != 404:
                    self.handoff_failed.emit(session_token, exc.code)
                    return
                log_warning("handoff_unavailable", app=app_id, status=exc.status)
                self.handed_off.emit(session_token, launch_url)
            except ServerUnreachable:
                self.handoff_failed.emit(session_token, "unreachable")
            else:
                self.handed_off.emit(session_token, url)

    @Slot(str)
    def sign_out(self, session_token: str) -> None:
        if self._stop.is_set():
            return
        # The session is wiped locally either way, and it times out on the server.
        with self.reporting_failures(), contextlib.suppress(ServerRefused, ServerUnreachable):
            self.client.logout(session_token)

    @Slot()
    def check_in(self) -> None:
        """Tell the server this kiosk is on (its "last seen"), so IT's monitoring can tell a kiosk that
        is off or offline from one nobody used; a failure here changes nothing on the screen (the next
        sign-in or health check says so)."""
        if self._stop.is_set():
            return
        with self.reporting_failures(), contextlib.suppress(ServerUnreachable, ServerRefused):
            self.client.whoami()

    @Slot()
    def check_health(self) -> None:
        if self._stop.is_set():
            return
        with self.reporting_failures():
            try:
                self.client.health()
            except (ServerUnreachable, ServerRefused) as exc:
                self.unreachable.emit(str(exc))
            else:
                self.reachable.emit()
