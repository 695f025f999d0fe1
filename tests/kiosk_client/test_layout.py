"""The kiosk window on the screens schools have: nothing cut off, every tile reachable, words whole.

Spanish is used throughout: its messages are the longest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from badge_server.contract.words import text
from kiosk_client.api import App
from kiosk_client.config import KioskConfig
from kiosk_client.controller import LOOKS, KioskController, State, View
from kiosk_client.frames import classroom_frame
from kiosk_client.ui import KioskWindow

SCREENS = {
    "Chromebook 1366x768": (1366, 768),
    "laptop 1280x800": (1280, 800),
    "monitor 1920x1080": (1920, 1080),
    "portrait tablet 800x1280": (800, 1280),
}
NAMES = [
    "Starfall", "PBS Kids", "Lexia Core5", "Zearn Math", "Epic Books", "Khan Academy Kids", "Google Classroom",
    "ABCmouse", "Prodigy Math Game", "Duolingo ABC", "Seesaw", "Raz-Kids", "BrainPOP Jr.", "Typing Club",
]  # fmt: skip
APPS = [
    App(f"app-{i}", name, "https://example.org", None, "#ffca3a" if i % 2 else "#264653")
    for i, name in enumerate(NAMES)
]
USER = {"first_name": "Maximiliano", "initials": "MG", "avatar_color": "#2a9d8f"}


@pytest.fixture(params=list(SCREENS), ids=list(SCREENS))
def window(request: pytest.FixtureRequest, qtbot: QtBot) -> Iterator[KioskWindow]:
    window = KioskWindow("es")
    window.resize(*SCREENS[request.param])
    window.show()
    qtbot.waitExposed(window)
    try:
        yield window
    finally:
        window.close()


def show(window: KioskWindow, state: State, message_key: str | None = None) -> None:
    icon, shape, color = LOOKS[state]
    message = text("es", message_key or state.value, name=USER["first_name"], seconds=30)
    window.show_view(View(state, message, icon, shape, color, USER, APPS))
    QApplication.processEvents()
    # A window whose content needs more than the screen grows past it: that is the cut-off.
    assert window.minimumSizeHint().height() <= window.height(), "the content needs more than the screen"
    assert window.minimumSizeHint().width() <= window.width()


def on_screen(window: KioskWindow, widget: QWidget) -> bool:
    where = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
    return widget.isVisible() and window.rect().contains(where)


def whole(label: QWidget) -> bool:
    """A word-wrapped label is as tall as its text needs at its width (no line cut off)."""
    return label.height() >= label.heightForWidth(label.width())


@pytest.mark.parametrize("state", [State.READY, State.NOT_ACCEPTED, State.TOO_MANY, State.UNREACHABLE, State.NO_CAMERA])
def test_the_scan_screen_shows_its_message_and_hint_whole(window: KioskWindow, state: State) -> None:
    show(window, state)
    window.scan.show_frame(classroom_frame(1920, 1080, seed=1))
    QApplication.processEvents()
    scan = window.scan
    for widget in (scan.status, scan.message, scan.hint, scan.preview):
        assert on_screen(window, widget), f"{widget} is cut off at {window.width()}x{window.height()}"
    assert whole(scan.message) and whole(scan.hint)
    assert scan.message.font().pixelSize() >= 32, "words a five-year-old can read from a step away"
    assert scan.preview.height() >= window.height() // 3, "the child can see themselves"
    if state == State.READY:
        assert scan.hint.text() == text("es", "ready_hint")


def test_every_tile_is_reachable_and_every_name_whole(window: KioskWindow, qtbot: QtBot) -> None:
    show(window, State.DASHBOARD, "welcome")
    page = window.dashboard
    assert [tile.text() for tile in page.tiles] == NAMES
    for widget in (page.avatar, page.greeting, page.sign_out_button):
        assert on_screen(window, widget)
    assert on_screen(window, page.tile_area)
    viewport = page.tile_area.viewport()
    first = page.tiles[0]
    assert QRect(first.mapTo(viewport, QPoint(0, 0)), first.size()).intersects(viewport.rect())
    for tile in page.tiles:
        assert tile.height() >= 150 and tile.width() >= 180, "big touch targets"
        assert not any("…" in line for line in tile.name_lines()), f"{tile.text()!r} is cut short"
        page.tile_area.ensureWidgetVisible(tile)
        QApplication.processEvents()
        place = QRect(tile.mapTo(viewport, QPoint(0, 0)), tile.size())
        assert viewport.rect().contains(place), f"{tile.text()!r} cannot be scrolled into view"
    columns = {tile.x() for tile in page.tiles}
    assert 2 <= len(columns) <= 5
    if window.width() > window.height():
        assert len(columns) >= 4, "a landscape screen is used across"


def test_the_pin_pad_fits(window: KioskWindow) -> None:
    show(window, State.PIN)
    for widget in (window.pin.prompt, window.pin.dots, *window.pin.buttons.values()):
        assert on_screen(window, widget)
    assert min(b.height() for b in window.pin.buttons.values()) >= 70


def test_the_welcome_fits(window: KioskWindow, tmp_path: Path) -> None:
    show(window, State.WELCOME, "welcome")
    assert on_screen(window, window.welcome.avatar) and on_screen(window, window.welcome.greeting)
    assert whole(window.welcome.greeting)


def test_in_arabic_the_kiosk_reads_right_to_left_and_the_pin_pad_stays_one_two_three(
    qtbot: QtBot, tmp_path: Path
) -> None:
    window = KioskWindow("ar")
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    try:
        icon, shape, color = LOOKS[State.READY]
        window.show_view(View(State.READY, text("ar", "ready"), icon, shape, color, USER, APPS))
        QApplication.processEvents()
        assert window.layoutDirection().name == "RightToLeft"
        assert window.scan.message.text() == "اعرض بطاقتك" and window.scan.hint.text() == "ضعها داخل المربع"
        window.grab().save(str(tmp_path / "kiosk-ar-ready.png"))
        window.show_view(View(State.DASHBOARD, text("ar", "welcome", name="مريم"), icon, shape, color, USER, APPS))
        QApplication.processEvents()
        assert window.dashboard.sign_out_button.text().endswith("خروج")
        window.grab().save(str(tmp_path / "kiosk-ar-dashboard.png"))
        window.show_view(View(State.PIN, text("ar", "pin"), icon, shape, color, USER, APPS))
        QApplication.processEvents()
        pad = window.pin.buttons
        one, three = pad["1"].mapTo(window, QPoint(0, 0)), pad["3"].mapTo(window, QPoint(0, 0))
        assert one.x() < three.x(), "1 on the left, as on an Arabic phone"
        window.grab().save(str(tmp_path / "kiosk-ar-pin.png"))
    finally:
        window.close()


def test_a_student_whose_roster_says_arabic_is_welcomed_in_arabic_then_the_kiosk_is_english_again(
    qtbot: QtBot,
) -> None:
    controller = KioskController(KioskConfig(server_url="http://127.0.0.1:1", language="en"))
    window = KioskWindow("en")
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    try:
        controller.user = {"first_name": "Mariam", "initials": "MS", "avatar_color": "#2a9d8f", "language": "ar"}
        controller.state = State.WELCOME
        window.show_view(controller.view())
        assert window.welcome.greeting.text() == "مرحبًا يا Mariam!"
        assert window.layoutDirection().name == "RightToLeft"
        controller.user, controller.state = {}, State.READY  # signed out: the next child
        window.show_view(controller.view())
        assert window.scan.message.text() == "Show your badge" and window.layoutDirection().name == "LeftToRight"
    finally:
        window.close()
        controller.shutdown()
