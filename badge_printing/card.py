"""One badge card: what it shows, and how it is drawn into a label's rectangle."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import date

from reportlab.lib.colors import HexColor, white
from reportlab.pdfgen.canvas import Canvas

from badge_printing import fonts
from badge_printing.errors import LayoutError
from badge_printing.qr import QUIET_ZONE, draw_matrix, make_matrix

MIN_MODULE_MM = 0.5  # below this a classroom webcam at arm's length cannot resolve the modules
SHAPES = ("circle", "square", "triangle", "star", "diamond", "hexagon")
COLORS = ("#d1495b", "#a86b00", "#00798c", "#30638e", "#6a4c93", "#23857a", "#c4502f", "#3d405b")


def name_sort_key(name: str) -> str:
    """Alphabetical order as a teacher expects it: accents ignored (Émile before José), any case."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True)
class BadgeCard:
    """Everything printed on one badge. ``payload`` is the QR text; nothing else is secret."""

    payload: str
    name: str
    initial: str = ""
    class_name: str = ""
    school: str = ""
    expires: date | None = None
    reference: str = ""
    color: str = ""  # the student's colour (the kiosk's welcome screen uses the same)
    shape: str = ""  # a shape a pre-reader can recognise as theirs
    key: str = ""  # stable id used to pick colour and shape when not given

    def __post_init__(self) -> None:
        if not self.payload:
            raise ValueError("a badge card needs a payload")
        if not self.name.strip():
            raise ValueError("a badge card needs a name")
        if self.shape and self.shape not in SHAPES:
            raise ValueError(f"shape {self.shape!r} is not one of {', '.join(SHAPES)}")

    def _pick(self, options: tuple[str, ...], byte: int) -> str:
        # Different digest bytes for shape and colour, so the two vary independently.
        digest = hashlib.sha256((self.key or self.name).encode()).digest()
        return options[digest[byte] % len(options)]

    @property
    def symbol_shape(self) -> str:
        return self.shape or self._pick(SHAPES, 0)

    @property
    def symbol_color(self) -> str:
        return self.color or self._pick(COLORS, 1)

    @property
    def symbol_letter(self) -> str:
        return (self.initial or self.name.strip()[:1]).upper()[:1]


@dataclass(frozen=True)
class Box:
    """A rectangle in PDF coordinates (origin bottom left)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def top(self) -> float:
        return self.y + self.height


def draw_symbol(canvas: Canvas, card: BadgeCard, cx: float, cy: float, radius: float) -> None:
    """The pre-reader's sign: their initial in a shape of their colour."""
    canvas.saveState()
    canvas.setFillColor(HexColor(card.symbol_color))
    shape = card.symbol_shape
    if shape == "circle":
        canvas.circle(cx, cy, radius, stroke=0, fill=1)
    elif shape == "square":
        canvas.roundRect(
            cx - radius * 0.9, cy - radius * 0.9, radius * 1.8, radius * 1.8, radius * 0.2, stroke=0, fill=1
        )
    else:
        import math

        points = {"triangle": 3, "diamond": 4, "hexagon": 6, "star": 10}[shape]
        start = math.pi / 2
        path = canvas.beginPath()
        for i in range(points):
            r = radius * (0.5 if shape == "star" and i % 2 else 1.0) * (1.15 if shape == "triangle" else 1)
            angle = start + 2 * math.pi * i / points
            px, py = cx + r * math.cos(angle), cy + r * math.sin(angle) - (radius * 0.2 if shape == "triangle" else 0)
            (path.moveTo if i == 0 else path.lineTo)(px, py)
        path.close()
        canvas.drawPath(path, stroke=0, fill=1)
    letter_size = radius * (0.95 if shape in ("triangle", "star") else 1.15)
    letter_runs = fonts.runs(card.symbol_letter, bold=True)
    canvas.setFillColor(white)
    x = cx - fonts.width(letter_runs, letter_size) / 2
    y = cy - letter_size * 0.36 - (radius * 0.12 if shape == "triangle" else 0)
    _draw_runs(canvas, letter_runs, x, y, letter_size)
    canvas.restoreState()


def _draw_runs(canvas: Canvas, text_runs: list[fonts.Run], x: float, y: float, size: float) -> None:
    for run in text_runs:
        canvas.setFont(run.font, size)
        canvas.drawString(x, y, run.text)
        x += fonts.width([run], size)


def fit_lines(
    text: str, max_width: float, max_size: float, min_size: float, max_lines: int = 2
) -> tuple[list[list[fonts.Run]], float]:
    """Largest size at which ``text`` fits ``max_width``: shrink first, then wrap, never cut.

    Below ``min_size`` on ``max_lines`` lines it keeps shrinking rather than cut the name off.
    """
    words = text.split()
    size = max_size
    while True:
        one = fonts.runs(fonts.visual_order(text), bold=True)
        if fonts.width(one, size) <= max_width:
            return [one], size
        if size <= min_size and len(words) > 1:
            for lines in _wrappings(words, max_lines):
                shaped = [fonts.runs(fonts.visual_order(line), bold=True) for line in lines]
                if all(fonts.width(r, size) <= max_width for r in shaped):
                    return shaped, size
        if size <= 2:
            return [one], size
        size -= 0.5


def _wrappings(words: list[str], max_lines: int) -> list[list[str]]:
    """Ways to break words into up to max_lines lines, most balanced first."""
    options = []
    for cut in range(1, len(words)):
        options.append([" ".join(words[:cut]), " ".join(words[cut:])])
    options.sort(key=lambda lines: max(len(line) for line in lines))
    return options if max_lines >= 2 else []


def draw_card(canvas: Canvas, card: BadgeCard, label: Box, safe_margin: float, template_name: str) -> None:
    """Draw one badge inside ``label`` (PDF coordinates), keeping ``safe_margin`` clear.

    Square and tall labels stack the code over a band with the symbol and name; wide labels put
    the code on the left. Either way the text is sized first and the code gets the rest, as large
    as the label allows, because bigger modules read from farther away.
    """
    inner = Box(
        label.x + safe_margin, label.y + safe_margin, label.width - 2 * safe_margin, label.height - 2 * safe_margin
    )
    matrix = make_matrix(card.payload)
    details = _details(card)
    wide = inner.width > inner.height * 1.25
    small = max(5.0, min(9.0, inner.height * (0.05 if wide else 0.042)))
    if wide:
        side = min(inner.height, inner.width * 0.55)
        qr_x, qr_top = inner.x, inner.top - (inner.height - side) / 2
        text = Box(inner.x + side, inner.y, inner.width - side, inner.height)
    else:
        band = max(14.0, min(40.0, inner.height * 0.16))
        side = min(inner.width, inner.height - band - len(details) * small * 1.2 - 2)
        qr_x, qr_top = inner.x + (inner.width - side) / 2, inner.top
        text = Box(inner.x, inner.y, inner.width, inner.height - side)
    module = max(side, 0.0) / matrix.size_with_quiet_zone
    if module < MIN_MODULE_MM * 72 / 25.4:
        raise LayoutError(
            f"template {template_name!r}: QR modules would be {module * 25.4 / 72:.2f} mm, smaller than the "
            f"{MIN_MODULE_MM} mm a camera can read at arm's length; use a larger label"
        )
    canvas.setFillColorRGB(0, 0, 0)
    draw_matrix(canvas, matrix, qr_x + QUIET_ZONE * module, qr_top - QUIET_ZONE * module, module)
    # The text boxes start where the code's white border ends: nothing enters the quiet zone.
    if wide:
        _draw_wide_text(canvas, card, text, details, small)
    else:
        _draw_stacked_text(canvas, card, text, details, small)


def _details(card: BadgeCard) -> list[str]:
    footer = "  ".join(
        part
        for part in (
            f"Ref {card.reference}" if card.reference else "",
            f"Exp {card.expires:%b} {card.expires.day}, {card.expires.year}" if card.expires else "",
        )
        if part
    )
    return [d for d in (card.class_name, card.school, footer) if d]


def _draw_details(canvas: Canvas, details: list[str], x: float, bottom: float, width: float, small: float) -> None:
    canvas.setFillColorRGB(0.2, 0.2, 0.2)
    y = bottom + (len(details) - 1) * small * 1.2 + small * 0.25
    for detail in details:
        detail_runs = fonts.runs(fonts.visual_order(detail))
        size = small
        while fonts.width(detail_runs, size) > width and size > 3:
            size -= 0.25  # shrink a long school name rather than cut it
        _draw_runs(canvas, detail_runs, x, y, size)
        y -= small * 1.2


def _draw_name(canvas: Canvas, lines: list[list[fonts.Run]], size: float, x: float, middle: float) -> None:
    canvas.setFillColorRGB(0, 0, 0)
    line_height = size * 1.1
    y = middle + (len(lines) * line_height) / 2 - size * 0.8
    for line in lines:
        _draw_runs(canvas, line, x, y, size)
        y -= line_height


def _draw_stacked_text(canvas: Canvas, card: BadgeCard, box: Box, details: list[str], small: float) -> None:
    details_height = len(details) * small * 1.2 + small * 0.4  # room for descenders above the details
    band = Box(box.x, box.y + details_height, box.width, box.height - details_height)
    radius = min(band.height * 0.45, band.width * 0.12)
    draw_symbol(canvas, card, band.x + radius + 1, band.y + band.height / 2, radius)
    name_x = band.x + 2 * radius + 5
    lines, size = fit_lines(card.name, band.x + band.width - name_x, band.height * 0.8, band.height * 0.4)
    if len(lines) * size * 1.1 > band.height:
        size = band.height / (len(lines) * 1.1)
    _draw_name(canvas, lines, size, name_x, band.y + band.height / 2)
    _draw_details(canvas, details, box.x + 1, box.y, box.width - 2, small)


def _draw_wide_text(canvas: Canvas, card: BadgeCard, box: Box, details: list[str], small: float) -> None:
    pad = box.width * 0.05
    radius = min(box.width * 0.16, box.height * 0.14)
    draw_symbol(canvas, card, box.x + pad + radius, box.top - radius - 2, radius)
    name_top = box.top - 2 * radius - 8
    name_bottom = box.y + len(details) * small * 1.2 + 4
    width = box.width - pad
    lines, size = fit_lines(card.name, width, min(30.0, box.height * 0.17), box.height * 0.085)
    if len(lines) * size * 1.1 > name_top - name_bottom:
        size = (name_top - name_bottom) / (len(lines) * 1.1)
    _draw_name(canvas, lines, size, box.x + pad, (name_top + name_bottom) / 2)
    _draw_details(canvas, details, box.x + pad, box.y, width, small)
