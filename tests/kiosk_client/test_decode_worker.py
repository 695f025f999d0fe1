"""The kiosk's decode worker passes on only what looks like one of our badges (issue 15: this
filter was tested only through an audit-row count)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot

from kiosk_client.capture import Frame, LatestFrame
from kiosk_client.decoder import default_scanner
from kiosk_client.frames import classroom_frame
from kiosk_client.workers import DecodeWorker


@pytest.mark.parametrize(
    ("text", "is_ours"),
    [
        ("https://pbskids.org/games", False),
        ("BL1:B001ABCDEFGHIJKLMNOPQRSTUVWXY", False),  # our prefix, one character short
        ("BL1:B000" + "A" * 26, False),  # generation 0 is never issued
        ("bl1:b001" + "a" * 26, False),  # the format is upper case
        ("BL1:B001AAAAAAAAAAAAAMZMZMZMZMZMZQ", True),
    ],
)
def test_only_text_that_looks_like_our_badge_is_passed_on(qtbot: QtBot, text: str, is_ours: bool) -> None:
    mailbox = LatestFrame()
    worker = DecodeWorker(mailbox, default_scanner())
    badges: list[str] = []
    foreign: list[bool] = []
    worker.badge.connect(badges.append)
    worker.foreign.connect(lambda: foreign.append(True))
    thread = QThread()
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    thread.start()
    try:
        mailbox.put(Frame(1, classroom_frame(1280, 720, text, code_fraction=0.35, noise=2), 0.0))
        qtbot.waitUntil(lambda: bool(badges or foreign), timeout=10_000)
    finally:
        worker.stop()
        thread.quit()
        assert thread.wait(10_000)
    assert badges == ([text] if is_ours else [])
    assert bool(foreign) is not is_ours
