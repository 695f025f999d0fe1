"""The kiosk's window: what a five-year-old sees. Big, few words, never colour alone."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen, QPixmap, QPolygonF, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QScroller,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from badge_server.contract.words import RIGHT_TO_LEFT, text
from kiosk_client.api import App
from kiosk_client.app_tile import AppTile
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


@dataclass(frozen=True)
class Metrics:
    """Sizes in pixels for a window, from its shorter side: the same kiosk fills a 1366x768
    Chromebook, a 1280x800 laptop, a 1920x1080 monitor and a portrait tablet without cutting
    anything off. 1080 pixels is the design size; nothing shrinks below 60% of it."""

    width: int
    height: int

    def px(self, at_1080: float) -> int:
        short = max(min(self.width, self.height), 1)
        return max(1, round(at_1080 * max(0.6, min(short / 1080, 1.4))))

    @property
    def columns(self) -> int:
        """Tiles per row: about 330 design pixels each, 2 to 5."""
        return max(2, min(5, self.width // self.px(330)))


def big_label(size: int, bold: bool = True) -> QLabel:
    label = QLabel()
    set_pixel_size(label, size, bold)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label


def set_pixel_size(widget: QWidget, size: int, bold: bool = True) -> None:
    font = QFont(widget.font())
    font.setPixelSize(size)
    font.setBold(bold)
    widget.setFont(font)


class ScanPage(QWidget):
    """Camera preview with a framing guide (where the decoder reads best) and the status."""

    def __init__(self) -> None:
        super().__init__()
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.preview.setMinimumSize(160, 90)
        self.preview.setStyleSheet("background: #fdfcf7;")  # the page's own colour around the picture
        self.status = StatusBadge()
        self.message = big_label(44)
        self.hint = big_label(26, bold=False)
        self.bar = QHBoxLayout()
        self.bar.addWidget(self.status, 0, Qt.AlignmentFlag.AlignVCenter)
        words = QVBoxLayout()
        words.addWidget(self.message)
        words.addWidget(self.hint)
        self.bar.addLayout(words, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview, 1)
        layout.addLayout(self.bar)

    def set_metrics(self, metrics: Metrics) -> None:
        self.status.setFixedSize(metrics.px(150), metrics.px(150))
        set_pixel_size(self.message, metrics.px(54))
        set_pixel_size(self.hint, metrics.px(32), bold=False)

    def show_frame(self, gray: np.ndarray) -> None:
        # Shrunk to the preview first: the camera may give 1920x1080, the preview is smaller,
        # and the GUI thread should not mirror and paint eight megabytes thirty times a second.
        area = self.preview.size()
        scale = min(area.width() / gray.shape[1], area.height() / gray.shape[0])
        if scale > 0 and abs(scale - 1) > 0.01:
            size = (max(1, int(gray.shape[1] * scale)), max(1, int(gray.shape[0] * scale)))
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
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
        radius = max(8, width // 50)
        painter.drawRoundedRect(QRectF(width / 4, height / 4, width / 2, height / 2), radius, radius)
        painter.end()
        self.preview.setPixmap(QPixmap.fromImage(image))


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

    def set_metrics(self, metrics: Metrics) -> None:
        self.avatar.setFixedSize(metrics.px(240), metrics.px(240))
        set_pixel_size(self.greeting, metrics.px(72))


class DashboardPage(QWidget):
    """The child's apps as tiles, as many columns as the screen is wide; more rows than fit
    scroll (by finger on a touch screen), under a header that stays put."""

    open_app = Signal(object)
    sign_out = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.metrics = Metrics(1920, 1080)
        self.avatar = Avatar(96)
        self.greeting = big_label(40)
        self.greeting.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.sign_out_button = QPushButton()
        self.sign_out_button.setStyleSheet(
            "font-weight: bold; background: #d1495b; color: white; border-radius: 18px; padding: 0 24px;"
        )
        self.sign_out_button.clicked.connect(self.sign_out.emit)
        header = QHBoxLayout()
        header.addWidget(self.avatar)
        header.addWidget(self.greeting, 1)
        header.addWidget(self.sign_out_button)
        self.grid = QGridLayout()
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop)
        holder = QWidget()
        holder.setLayout(self.grid)
        self.tile_area = QScrollArea()
        self.tile_area.setWidgetResizable(True)
        self.tile_area.setFrameShape(QFrame.Shape.NoFrame)
        self.tile_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tile_area.setWidget(holder)
        # A wide bar a child can see (more apps below) and drag; fingers scroll the tiles too.
        self.tile_area.verticalScrollBar().setStyleSheet("QScrollBar:vertical { width: 28px; }")
        QScroller.grabGesture(self.tile_area.viewport(), QScroller.ScrollerGestureType.TouchGesture)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.tile_area, 1)
        self.tiles: list[AppTile] = []
        self.apps: list[App] = []

    def set_metrics(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.avatar.setFixedSize(metrics.px(100), metrics.px(100))
        set_pixel_size(self.greeting, metrics.px(48))
        set_pixel_size(self.sign_out_button, metrics.px(34))
        self.sign_out_button.setMinimumHeight(metrics.px(100))
        self.grid.setSpacing(metrics.px(28))
        self._lay_out()

    def show_apps(self, apps: list[App]) -> None:
        if apps == self.apps and self.tiles:
            return  # the same apps: keep the tiles (and where the list is scrolled to)
        for tile in self.tiles:
            self.grid.removeWidget(tile)
            tile.deleteLater()
        self.apps = list(apps)
        self.tiles = []
        for app in apps:
            icon = None
            if app.icon_image:
                icon = QPixmap()
                icon.loadFromData(app.icon_image)
            tile = AppTile(app, icon)
            tile.clicked.connect(lambda _=False, a=app: self.open_app.emit(a))
            self.tiles.append(tile)
        self.tile_area.verticalScrollBar().setValue(0)
        self._lay_out()

    def _lay_out(self) -> None:
        columns = self.metrics.columns
        for tile in self.tiles:
            self.grid.removeWidget(tile)
        for index, tile in enumerate(self.tiles):
            tile.set_metrics(self.metrics.px(250), self.metrics.px(32))  # big touch targets for small hands
            self.grid.addWidget(tile, index // columns, index % columns)
        for column in range(5):
            self.grid.setColumnStretch(column, 1 if column < columns else 0)


class PinPage(QWidget):
    """A big digit pad; dots, not digits, so a neighbour cannot read the PIN."""

    submitted = Signal(str)
    cancelled = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.prompt = big_label(40)
        self.dots = big_label(56)
        self.digits = ""
        self.pad = QGridLayout()
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "✕"]
        self.buttons: dict[str, QPushButton] = {}
        for index, key in enumerate(keys):
            button = QPushButton(key)
            button.setStyleSheet("font-weight: bold; border-radius: 16px; background: #e9ecef;")
            button.clicked.connect(lambda _=False, k=key: self.press(k))
            self.pad.addWidget(button, index // 3, index % 3)
            self.buttons[key] = button
        self.pad_widget = QWidget()  # a widget of its own: its direction can differ from the page's
        self.pad_widget.setLayout(self.pad)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.prompt)
        layout.addWidget(self.dots)
        layout.addWidget(self.pad_widget)
        layout.addStretch(1)
        self.pad.setAlignment(Qt.AlignmentFlag.AlignHCenter)

    def set_metrics(self, metrics: Metrics) -> None:
        set_pixel_size(self.prompt, metrics.px(50))
        set_pixel_size(self.dots, metrics.px(64))
        self.pad.setSpacing(metrics.px(16))
        for button in self.buttons.values():
            set_pixel_size(button, metrics.px(48))
            button.setFixedSize(metrics.px(190), metrics.px(120))

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
        self.pin.pad_widget.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        self._read_as(language)
        self.setStyleSheet("QMainWindow, QWidget { background: #fdfcf7; color: #1d1d1d; }")
        self.metrics = Metrics(0, 0)
        self._fit(Metrics(1366, 768))

    def _read_as(self, language: str) -> None:
        """Arabic reads from the right: Qt mirrors every layout (the name before the avatar, the tiles
        from the right). The PIN pad keeps its own direction, 1-2-3 from the left as on a phone."""
        rtl = language in RIGHT_TO_LEFT
        self.setLayoutDirection(Qt.LayoutDirection.RightToLeft if rtl else Qt.LayoutDirection.LeftToRight)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._fit(Metrics(event.size().width(), event.size().height()))
        super().resizeEvent(event)

    def _fit(self, metrics: Metrics) -> None:
        if metrics == self.metrics:
            return
        self.metrics = metrics
        for page in (self.scan, self.welcome, self.dashboard, self.pin):
            page.set_metrics(metrics)

    def show_view(self, view: View) -> None:
        # The view's language (a signed-in student's own, else the kiosk's); right to left for Arabic.
        speaking = view.language or self.language
        self._read_as(speaking)
        if view.state == State.WELCOME:
            self.welcome.avatar.show_user(view.user.get("initials", ""), view.user.get("avatar_color", "#30638e"))
            self.welcome.greeting.setText(view.message)
            self.stack.setCurrentWidget(self.welcome)
        elif view.state == State.DASHBOARD:
            self.dashboard.avatar.show_user(view.user.get("initials", ""), view.user.get("avatar_color", "#30638e"))
            self.dashboard.greeting.setText(view.message)
            self.dashboard.sign_out_button.setText("⎋  " + text(speaking, "sign_out"))
            self.dashboard.show_apps(view.apps)
            self.stack.setCurrentWidget(self.dashboard)
        elif view.state == State.PIN:
            self.pin.reset(view.message)
            self.stack.setCurrentWidget(self.pin)
        else:
            self.scan.status.show_state(view.icon, view.shape, view.color)
            self.scan.message.setText(view.message)
            hint = text(speaking, "ready_hint") if view.state in (State.READY, State.TOO_DARK) else ""
            self.scan.hint.setText(hint)
            self.stack.setCurrentWidget(self.scan)
