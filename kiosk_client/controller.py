"""What the kiosk is doing, and what a child sees: the state machine between the workers and
the window. Lives in the GUI thread; every slow thing happens in a worker."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import time
import webbrowser
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from badge_server.contract.words import ERROR_STATES as CONTRACT_ERROR_STATES
from badge_server.contract.words import STATE_LOOKS, text
from kiosk_client.api import App
from kiosk_client.browser_sandbox import without_credentials
from kiosk_client.config import KioskConfig
from kiosk_client.events import log_event

BADGE_GONE_SECONDS = 1.5  # a badge counts as put away once unseen this long


class State(StrEnum):
    READY = "ready"
    READING = "reading"
    WELCOME = "welcome"
    DASHBOARD = "dashboard"
    PIN = "pin"
    NOT_A_BADGE = "not_a_badge"
    REPLACED = "replaced"
    NOT_ACCEPTED = "not_accepted"
    EXPIRED = "expired"
    TOO_MANY = "too_many"
    UNREACHABLE = "unreachable"
    NO_CAMERA = "no_camera"
    TOO_DARK = "too_dark"
    NOT_ENROLLED = "not_enrolled"


# In browser_command, replaced by a new empty profile folder for every app opened.
PROFILE = "{profile}"
LOOKS: dict[State, tuple[str, str, str]] = {state: STATE_LOOKS[state.value] for state in State}
ERROR_STATES: dict[str, State] = {code: State(state) for code, state in CONTRACT_ERROR_STATES.items()}


@dataclass
class View:
    """Everything the window needs to draw the current state."""

    state: State
    message: str
    icon: str
    shape: str
    color: str
    user: dict[str, Any] = field(default_factory=dict)
    apps: list[App] = field(default_factory=list)
    language: str = ""  # the words' language (KioskController.speaking); empty: the window's own


class KioskController(QObject):
    changed = Signal(object)  # View
    request_sign_in = Signal(str, str)  # badge, pin -> NetworkWorker.sign_in
    request_sign_out = Signal(str)  # session token -> NetworkWorker.sign_out
    request_handoff = Signal(str, str, str)  # session token, app id, launch URL -> NetworkWorker.hand_off
    request_health = Signal()
    sound = Signal(str)  # "welcome" | "error"

    def __init__(self, config: KioskConfig) -> None:
        super().__init__()
        self.config = config
        self.state = State.READY
        self.camera_ok = False
        self.dark = False
        self.user: dict[str, Any] = {}
        self.apps: list[App] = []
        self.session_token: str | None = None
        self.pending_badge: str | None = None
        self.pin_error = False
        self.blocked_badge: str | None = None  # not to be used again until it leaves view
        self.last_seen: dict[str, float] = {}
        self.browser: subprocess.Popen[bytes] | None = None
        self.browser_profile: str | None = None
        self.countdown_until = 0.0
        self.last_activity = time.monotonic()
        self._message_timer = QTimer(self, singleShot=True)
        self._message_timer.timeout.connect(self._message_over)
        self._tick = QTimer(self, interval=250)
        self._tick.timeout.connect(self._on_tick)
        self._tick.start()
        self._health = QTimer(self, interval=3000)
        self._health.timeout.connect(self.request_health.emit)

    def shutdown(self) -> None:
        """Stop every timer: nothing more is asked of the workers."""
        for timer in (self._message_timer, self._tick, self._health):
            timer.stop()
        self._close_browser()

    # -- what the window shows ------------------------------------------------------------
    def view(self) -> View:
        icon, shape, color = LOOKS[self.state]
        values: dict[str, object] = {"name": self.user.get("first_name", "")}
        if self.state == State.TOO_MANY:
            values["seconds"] = max(0, int(self.countdown_until - time.monotonic() + 0.99))
        key = {State.DASHBOARD: "welcome", State.PIN: "pin_wrong" if self.pin_error else "pin"}.get(
            self.state, self.state.value
        )
        speaking = self.speaking()
        return View(self.state, text(speaking, key, **values), icon, shape, color, self.user, self.apps, speaking)

    def speaking(self) -> str:
        """The signed-in student's roster language where the server sent one, else the kiosk's."""
        return self.user.get("language") or self.config.language

    def _go(self, state: State, **fields: object) -> None:
        if state != self.state:
            log_event("state", state=state.value, previous=self.state.value, **fields)
        self.state = state
        self.changed.emit(self.view())

    def _idle_state(self) -> State:
        if not self.camera_ok:
            return State.NO_CAMERA
        return State.TOO_DARK if self.dark else State.READY

    def _show_message(self, state: State, seconds: float | None = None) -> None:
        self._go(state)
        self.sound.emit("error")
        self._message_timer.start(int((seconds or self.config.message_seconds) * 1000))

    @Slot()
    def _message_over(self) -> None:
        if self.state in (
            State.NOT_A_BADGE,
            State.REPLACED,
            State.NOT_ACCEPTED,
            State.EXPIRED,
            State.TOO_MANY,
            State.NOT_ENROLLED,
        ):
            self._go(self._idle_state())

    # -- camera and decoder events -------------------------------------------------------
    @Slot(int, int, float)
    def camera_opened(self, width: int, height: int, fps: float) -> None:
        self.camera_ok = True
        log_event("camera_opened", width=width, height=height, fps=round(fps, 1))
        if self.state == State.NO_CAMERA:
            self._go(self._idle_state())

    @Slot(str)
    def camera_lost(self, reason: str) -> None:
        if self.camera_ok or self.state != State.NO_CAMERA:
            log_event("camera_lost", reason=reason)
        self.camera_ok = False
        if self.state in (State.READY, State.TOO_DARK, State.READING):
            self._go(State.NO_CAMERA)

    @Slot(float)
    def brightness(self, level: float) -> None:
        self.dark = level < self.config.too_dark_level
        if self.state in (State.READY, State.TOO_DARK) and self.camera_ok:
            wanted = self._idle_state()
            if wanted != self.state:
                self._go(wanted, brightness=round(level))

    @Slot()
    def foreign_code(self) -> None:
        if self.state in (State.READY, State.TOO_DARK):
            self._show_message(State.NOT_A_BADGE)

    @Slot(str)
    def badge_seen(self, badge: str) -> None:
        self.last_seen[badge] = time.monotonic()
        if badge == self.blocked_badge:
            return  # the badge that just signed in (or failed) is still in view: not again
        if self.state not in (State.READY, State.TOO_DARK, State.NOT_A_BADGE, State.UNREACHABLE):
            return
        self.pending_badge = badge
        self.pin_error = False
        self._go(State.READING)
        self.request_sign_in.emit(badge, "")

    # -- server answers --------------------------------------------------------------------
    @Slot(object, object, str)
    def signed_in(self, user: dict[str, Any], apps: list[App], session_token: str) -> None:
        self.user, self.apps, self.session_token = user, list(apps), session_token
        self.blocked_badge = self.pending_badge
        self.pending_badge = None
        self.last_activity = time.monotonic()
        self._health.stop()
        self._go(State.WELCOME, apps=len(apps))
        self.sound.emit("welcome")
        QTimer.singleShot(int(self.config.welcome_seconds * 1000), self._welcome_over)

    @Slot(str, object)
    def icons_ready(self, session_token: str, apps: list[App]) -> None:
        if session_token != self.session_token:
            return  # that child has signed out already
        self.apps = list(apps)
        if self.state == State.DASHBOARD:
            self.changed.emit(self.view())

    @Slot()
    def _welcome_over(self) -> None:
        if self.state == State.WELCOME:
            self._go(State.DASHBOARD)

    @Slot(str, str, int)
    def refused(self, code: str, message: str, retry_after: int) -> None:
        log_event("refused", code=code)
        if code in ("pin_required", "pin_incorrect"):
            self.pin_error = code == "pin_incorrect"
            self._go(State.PIN)
            return
        self.blocked_badge = self.pending_badge  # do not hammer the server with the same badge
        self.pending_badge = None
        state = ERROR_STATES.get(code, State.NOT_ACCEPTED)
        if state == State.TOO_MANY:
            self.countdown_until = time.monotonic() + max(retry_after, 1)
            self.blocked_badge = None
            self._show_message(state, seconds=max(retry_after, 1))
        else:
            self._show_message(state)

    @Slot(str)
    def unreachable(self, reason: str) -> None:
        log_event("server_unreachable", reason=reason)
        self.pending_badge = None
        if self.state in (State.READING, State.READY, State.TOO_DARK, State.UNREACHABLE, State.PIN):
            self._go(State.UNREACHABLE)
            self._health.start()  # keep trying, and say so

    @Slot()
    def reachable(self) -> None:
        self._health.stop()
        if self.state == State.UNREACHABLE:
            log_event("server_reachable")
            self._go(self._idle_state())

    # -- a child's actions --------------------------------------------------------------------
    def enter_pin(self, pin: str) -> None:
        if self.state == State.PIN and self.pending_badge:
            self.last_activity = time.monotonic()
            self._go(State.READING)
            self.request_sign_in.emit(self.pending_badge, pin)

    def cancel_pin(self) -> None:
        if self.state == State.PIN:
            self.blocked_badge, self.pending_badge = self.pending_badge, None
            self._go(self._idle_state())

    def activity(self) -> None:
        self.last_activity = time.monotonic()

    def open_app(self, app: App) -> None:
        """A tile tap: ask the server (off this thread) for a URL that opens the app signed in."""
        self.last_activity = time.monotonic()
        log_event("open_app", app=app.id)
        if self.session_token is None:
            return
        self._close_browser()  # one app at a time, each in a fresh profile
        self.request_handoff.emit(self.session_token, app.id, app.launch_url)

    @Slot(str, str)
    def handed_off(self, session_token: str, url: str) -> None:
        if session_token != self.session_token:
            return  # signed out (or another child) since the tap: open nothing
        self._open_browser(url)

    @Slot(str, str)
    def handoff_failed(self, session_token: str, code: str) -> None:
        if session_token != self.session_token:
            return
        log_event("handoff_failed", code=code)
        if code == "session_not_valid":  # timed out or ended on the server: the dashboard is stale
            self.sign_out("session_ended")
        else:
            self.sound.emit("error")

    def _open_browser(self, url: str) -> None:
        """Open ``url`` with the administrator's browser command (never logged: it holds a code)."""
        if self.config.browser_command:
            self._close_browser()
            command = [*self.config.browser_command, url]
            if any(PROFILE in part for part in command):
                self.browser_profile = tempfile.mkdtemp(prefix="badge-app-profile-")
                command = [part.replace(PROFILE, self.browser_profile) for part in command]
            # Started where the kiosk's device token cannot be read (browser_sandbox.py).
            self.browser = subprocess.Popen(without_credentials(command))  # noqa: S603 - the administrator's command
            log_event("browser_started", command=shlex.join(self.config.browser_command))
        else:
            webbrowser.open(url)

    def sign_out(self, reason: str = "button") -> None:
        if self.session_token is None:
            return
        log_event("sign_out", reason=reason)
        self.request_sign_out.emit(self.session_token)
        # Wipe everything local at once, whatever the server says.
        self.session_token, self.user, self.apps = None, {}, []
        self._close_browser()
        self._go(self._idle_state(), reason=reason)

    def _close_browser(self) -> None:
        """End the app browser, reap the process and wipe its throw-away profile (cookies,
        history, saved logins): the next child finds nothing of this one."""
        browser, self.browser = self.browser, None
        if browser is not None and browser.poll() is None:
            browser.terminate()
            try:
                browser.wait(3)
            except subprocess.TimeoutExpired:
                browser.kill()
                browser.wait(3)
        profile, self.browser_profile = self.browser_profile, None
        if profile:
            shutil.rmtree(profile, ignore_errors=True)

    # -- timers -------------------------------------------------------------------------------
    @Slot()
    def _on_tick(self) -> None:
        now = time.monotonic()
        if self.blocked_badge and now - self.last_seen.get(self.blocked_badge, 0) > BADGE_GONE_SECONDS:
            self.blocked_badge = None  # put away: it may sign in again next time it is shown
        if self.state == State.TOO_MANY:
            self.changed.emit(self.view())  # the countdown
        if self.session_token is not None:
            if self.browser is not None and self.browser.poll() is not None:
                self.sign_out("browser_closed")
            elif self.browser is None and now - self.last_activity > self.config.idle_sign_out_seconds:
                # While the app browser it launched is open the kiosk sees no touches; the
                # browser closing signs out, and the server's own idle time-out still applies.
                self.sign_out("idle")
