"""The kiosk's window: what a five-year-old sees. Big, few words, never colour alone."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from badge_server.contract.words import text
from kiosk_client.api import App
from kiosk_client.controller import State, View


def shape_path(shape: str, rect: QRectF) -> QPainterPath:
    """The outline of a status shape (circle, triangle, square, diamond, octagon)."""
    path = QPainterPath()
    cx, cy, r = rect.center().x(), rect.center().y(), min(rect.width(), rect.height()) / 2
    if shape == "circle":
        path.addEllipse(rect.center(), r, r)
        return path
    sides, rotation = {"triangle": (3, -90), "square": (4, 45), "diamond": (4, 0), "octagon": (8, 22.5)}[shape]
    points = [
        QPointF(
            cx + r * math.cos(math.radians(rotation + 360 * i / sides)),
            cy + r * math.sin(math.radians(rotation + 360 * i / sides)),
        )
        for i in range(sides)
    ]
    path.addPolygon(QPolygonF(points))
    path.closeSubpath()
    return path


class StatusBadge(QWidget):
    """An icon inside a coloured shape: the state is told three ways before any word is read."""

    def __init__(self, size: int = 140) -> None:
        super().__init__()
        self.setFixedSize(size, size)
        self.icon, self.shape, self.color = "▣", "circle", QColor("#30638e")

    def show_state(self, icon: str, shape: str, color: str) -> None:
        self.icon, self.shape, self.color = icon, shape, QColor(color)
        self.update()

    def paintEvent(self, event: object) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(6, 6, -6, -6)
        painter.fillPath(shape_path(self.shape, rect), self.color)
        painter.setPen(QPen(QColor("white")))
        font = QFont()
        font.setPixelSize(int(rect.height() * 0.42))
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.icon)


class Avatar(QWidget):
    """The child's initials in their colour (the colour printed on their badge)."""

    def __init__(self, size: int = 220) -> None:
        super().__init__()
        self.setFixedSize(size, size)
        self.initials, self.color = "", QColor("#30638e")

    def show_user(self, initials: str, color: str) -> None:
        self.initials, self.color = initials, QColor(color)
        self.update()

    def paintEvent(self, event: object) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(self.color)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(self.rect().adjusted(4, 4, -4, -4))
        painter.setPen(QColor("white"))
        font = QFont()
        font.setPixelSize(int(self.height() * 0.38))
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.initials)


def big_label(size: int, bold: bool = True) -> QLabel:
    label = QLabel()
    font = QFont()
    font.setPixelSize(size)
    font.setBold(bold)
    label.setFont(font)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label


class ScanPage(QWidget):
    """Camera preview with a framing guide (where the decoder reads best) and the status."""

    def __init__(self) -> None:
        super().__init__()
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.preview.setMinimumSize(320, 180)
        self.preview.setStyleSheet("background: #111;")
        self.status = StatusBadge()
        self.message = big_label(44)
        self.hint = big_label(26, bold=False)
        bar = QHBoxLayout()
        bar.addWidget(self.status)
        words = QVBoxLayout()
        words.addWidget(self.message)
        words.addWidget(self.hint)
        bar.addLayout(words, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview, 1)
        layout.addLayout(bar)

    def show_frame(self, gray: np.ndarray) -> None:
        height, width = gray.shape
        mirrored = np.ascontiguousarray(gray[:, ::-1])  # a mirror: children move the badge the way they see it
        image = QImage(mirrored.data, width, height, width, QImage.Format.Format_Grayscale8).convertToFormat(
            QImage.Format.Format_RGB32
        )
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor("#ffd166"))
        pen.setWidth(max(4, width // 160))
        painter.setPen(pen)
        painter.drawRoundedRect(QRectF(width / 4, height / 4, width / 2, height / 2), 24, 24)
        painter.end()
        self.preview.setPixmap(
            QPixmap.fromImage(image).scaled(
                self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
            )
        )


class WelcomePage(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.avatar = Avatar()
        self.greeting = big_label(64)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.avatar, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.greeting)
        layout.addStretch(1)


class DashboardPage(QWidget):
    open_app = Signal(object)
    sign_out = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.avatar = Avatar(96)
        self.greeting = big_label(40)
        self.greeting.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.sign_out_button = QPushButton()
        self.sign_out_button.setMinimumSize(220, 96)
        self.sign_out_button.setStyleSheet(
            "font-size: 30px; font-weight: bold; background: #d1495b; color: white;border-radius: 18px;"
        )
        self.sign_out_button.clicked.connect(self.sign_out.emit)
        header = QHBoxLayout()
        header.addWidget(self.avatar)
        header.addWidget(self.greeting, 1)
        header.addWidget(self.sign_out_button)
        self.grid = QGridLayout()
        self.grid.setSpacing(24)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(self.grid, 1)
        self.tiles: list[QPushButton] = []

    def show_apps(self, apps: list[App]) -> None:
        for tile in self.tiles:
            self.grid.removeWidget(tile)
            tile.deleteLater()
        self.tiles = []
        for index, app in enumerate(apps):
            tile = QPushButton(app.name)
            tile.setMinimumSize(240, 170)  # big touch targets for small hands
            tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            tile.setStyleSheet(
                f"font-size: 28px; font-weight: bold; color: white; background: {app.color};border-radius: 24px;"
            )
            tile.clicked.connect(lambda _=False, a=app: self.open_app.emit(a))
            self.grid.addWidget(tile, index // 3, index % 3)
            self.tiles.append(tile)


class PinPage(QWidget):
    """A big digit pad; dots, not digits, so a neighbour cannot read the PIN."""

    submitted = Signal(str)
    cancelled = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.prompt = big_label(40)
        self.dots = big_label(56)
        self.digits = ""
        pad = QGridLayout()
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "✕"]
        self.buttons: dict[str, QPushButton] = {}
        for index, key in enumerate(keys):
            button = QPushButton(key)
            button.setMinimumSize(130, 100)
            button.setStyleSheet("font-size: 40px; font-weight: bold; border-radius: 16px; background: #e9ecef;")
            button.clicked.connect(lambda _=False, k=key: self.press(k))
            pad.addWidget(button, index // 3, index % 3)
            self.buttons[key] = button
        layout = QVBoxLayout(self)
        layout.addWidget(self.prompt)
        layout.addWidget(self.dots)
        layout.addLayout(pad)

    def reset(self, prompt: str) -> None:
        self.digits = ""
        self.prompt.setText(prompt)
        self.dots.setText("○ ○ ○ ○ ○ ○")

    def press(self, key: str) -> None:
        if key == "✕":
            self.cancelled.emit()
            return
        self.digits = self.digits[:-1] if key == "⌫" else (self.digits + key)[:6]
        self.dots.setText(" ".join("●" if i < len(self.digits) else "○" for i in range(6)))
        if len(self.digits) == 6:
            digits, self.digits = self.digits, ""
            self.submitted.emit(digits)


class KioskWindow(QMainWindow):
    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language
        self.setWindowTitle("Badge sign-in")
        self.stack = QStackedWidget()
        self.scan, self.welcome, self.dashboard, self.pin = ScanPage(), WelcomePage(), DashboardPage(), PinPage()
        for page in (self.scan, self.welcome, self.dashboard, self.pin):
            self.stack.addWidget(page)
        self.setCentralWidget(self.stack)
        self.setStyleSheet("QMainWindow, QWidget { background: #fdfcf7; color: #1d1d1d; }")

    def show_view(self, view: View) -> None:
        if view.state == State.WELCOME:
            self.welcome.avatar.show_user(view.user.get("initials", ""), view.user.get("avatar_color", "#30638e"))
            self.welcome.greeting.setText(view.message)
            self.stack.setCurrentWidget(self.welcome)
        elif view.state == State.DASHBOARD:
            self.dashboard.avatar.show_user(view.user.get("initials", ""), view.user.get("avatar_color", "#30638e"))
            self.dashboard.greeting.setText(view.message)
            self.dashboard.sign_out_button.setText("⎋  " + text(self.language, "sign_out"))
            self.dashboard.show_apps(view.apps)
            self.stack.setCurrentWidget(self.dashboard)
        elif view.state == State.PIN:
            self.pin.reset(view.message)
            self.stack.setCurrentWidget(self.pin)
        else:
            self.scan.status.show_state(view.icon, view.shape, view.color)
            self.scan.message.setText(view.message)
            hint = text(self.language, "ready_hint") if view.state in (State.READY, State.TOO_DARK) else ""
            self.scan.hint.setText(hint)
            self.stack.setCurrentWidget(self.scan)
