"""One app on the kiosk's dashboard: the app's icon (or its first letter) and its name on a white
card edged in the app's colour, as the web dashboard draws it. The name is dark on white
whatever the app's colour, so a yellow or light-green app stays readable."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QPushButton, QSizePolicy, QWidget

from kiosk_client.api import App

INK = QColor("#1d1d1d")
MAX_NAME_LINES = 2


def readable_on(color: QColor) -> QColor:
    """White or near-black, whichever reads better on ``color`` (WCAG relative luminance)."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(color.redF()) + 0.7152 * linear(color.greenF()) + 0.0722 * linear(color.blueF())
    # Contrast with white is 1.05 / (L + 0.05); with near-black about (L + 0.05) / 0.062.
    return QColor("white") if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.062 else INK


class AppTile(QPushButton):
    """A big touch target. ``text()`` is the app's name (what a screen reader and the tests use)."""

    def __init__(self, app: App, icon: QPixmap | None, parent: QWidget | None = None) -> None:
        super().__init__(app.name, parent)
        self.app = app
        self.icon_pixmap = icon if icon is not None and not icon.isNull() else None
        self.color = QColor(app.color) if QColor.isValidColorName(app.color) else QColor("#3566c8")
        self.name_px = 28
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName(app.name)

    def set_metrics(self, height: int, name_px: int) -> None:
        self.name_px = name_px
        self.setFixedHeight(height)
        self.update()

    def _name_font(self) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(self.name_px)
        font.setBold(True)
        return font

    def name_lines(self, width: int | None = None) -> list[str]:
        """The name broken into at most two lines that fit the card; the last is elided if it must be."""
        metrics = QFontMetrics(self._name_font())
        room = (width if width is not None else self.width()) - 2 * self._padding()
        lines: list[str] = []
        words = self.app.name.split()
        while words and len(lines) < MAX_NAME_LINES:
            line = words.pop(0)
            while words and metrics.horizontalAdvance(f"{line} {words[0]}") <= room:
                line = f"{line} {words.pop(0)}"
            lines.append(line)
        if words:
            lines[-1] = f"{lines[-1]} {' '.join(words)}"
        return [metrics.elidedText(line, Qt.TextElideMode.ElideRight, room) for line in lines]

    def _padding(self) -> int:
        return max(8, self.height() // 14)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        border = max(3, self.height() // 45)
        card = QRectF(self.rect()).adjusted(border / 2, border / 2, -border / 2, -border * 2)
        radius = self.height() / 8
        # A solid "shadow" in the app's colour under the card, pressed flat when touched.
        pressed = self.isDown()
        if not pressed:
            shadow = QPainterPath()
            shadow.addRoundedRect(card.translated(0, border * 1.5), radius, radius)
            painter.fillPath(shadow, self.color)
        face = card.translated(0, border * 1.5) if pressed else card
        path = QPainterPath()
        path.addRoundedRect(face, radius, radius)
        painter.fillPath(path, QColor("white"))
        painter.setPen(QPen(self.color, border))
        painter.drawPath(path)
        if self.hasFocus():
            painter.setPen(QPen(INK, 3, Qt.PenStyle.DashLine))
            painter.drawRoundedRect(face.adjusted(border, border, -border, -border), radius, radius)

        font = self._name_font()
        line_height = QFontMetrics(font).height()
        lines = self.name_lines()
        padding = self._padding()
        # Room for two lines of name on every tile, so all pictures are one size.
        picture = max(
            16.0, min(face.height() - 2 * padding - MAX_NAME_LINES * line_height - padding / 2, face.width() * 0.6)
        )
        block = picture + padding / 2 + MAX_NAME_LINES * line_height
        top = face.top() + (face.height() - block) / 2
        square = QRectF(face.center().x() - picture / 2, top, picture, picture)
        if self.icon_pixmap is not None:
            scaled = self.icon_pixmap.scaled(
                int(picture),
                int(picture),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            painter.drawPixmap(
                int(square.center().x() - scaled.width() / 2), int(square.center().y() - scaled.height() / 2), scaled
            )
        else:
            letter = QPainterPath()
            letter.addRoundedRect(square, picture / 5, picture / 5)
            painter.fillPath(letter, self.color)
            big = QFont(font)
            big.setPixelSize(max(12, int(picture * 0.58)))
            painter.setFont(big)
            painter.setPen(readable_on(self.color))
            painter.drawText(square, Qt.AlignmentFlag.AlignCenter, self.app.name[:1].upper())
        painter.setFont(font)
        painter.setPen(INK)
        y = square.bottom() + padding / 2
        for line in lines:
            painter.drawText(
                QRectF(face.left() + padding, y, face.width() - 2 * padding, line_height),
                Qt.AlignmentFlag.AlignCenter,
                line,
            )
            y += line_height
