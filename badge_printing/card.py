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
from badge_printing.qr import draw_matrix, make_matrix

MIN_MODULE_MM = 0.5  # below this a classroom webcam at arm's length cannot resolve the modules
# The clear border kept around a badge's code, in modules; the label's own blank edge counts. The
# QR standard asks for 4, which on a 2 in label costs a third of the code's size. Measured with the
# reach simulation (benchmarks/reach.py's camera, text printed right up to the border): zxing-cpp
# and the kiosk pipeline read as well with 1 module as with 4, and fail with 0.5; 1.5 leaves room.
CLEAR_MODULES = 1.5
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
    # The small print (reference and expiry) in the family's language, made by the caller; empty:
    # English, from ``reference`` and ``expires``.
    small_print: str = ""

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
    draw_runs(canvas, letter_runs, x, y, letter_size)
    canvas.restoreState()


def draw_runs(canvas: Canvas, text_runs: list[fonts.Run], x: float, y: float, size: float) -> None:
    """Runs of text (in visual order, each in its font) from ``x`` on the baseline ``y``."""
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

    The code comes first and gets as much of the label as the name leaves, because module size is
    what decides how far away a camera still reads it (benchmarks/reach.py). Its clear border is
    :data:`CLEAR_MODULES` wide and may be the blank edge of the label itself. Square and tall labels
    stack the code over a band with the symbol and the name, and print the small details (class,
    school, reference, expiry) turned on their side in the strips beside the code; wide labels put
    the code on the left and everything else on the right.
    """
    matrix = make_matrix(card.payload)
    details = _details(card)
    small = max(4.5, min(9.0, label.height * 0.04))
    wide = label.width > label.height * 1.25
    if wide:
        module = min(label.height, label.width * 0.62) / (matrix.size + 2 * CLEAR_MODULES)
        clear = max(CLEAR_MODULES * module, safe_margin)
        qr_x, qr_top = label.x + clear, label.top - (label.height - matrix.size * module) / 2
    else:
        band = max(16.0, min(44.0, label.height * 0.16))
        by_height = (label.height - safe_margin - band) / (matrix.size + 2 * CLEAR_MODULES)
        module = min(by_height, (label.width - 2 * safe_margin) / matrix.size)
        clear = max(CLEAR_MODULES * module, safe_margin)
        qr_x, qr_top = label.x + (label.width - matrix.size * module) / 2, label.top - clear
    _refuse_unreadable(module, template_name)
    canvas.setFillColorRGB(0, 0, 0)
    draw_matrix(canvas, matrix, qr_x, qr_top, module)
    # Everything else starts where the code's clear border ends: nothing enters it.
    side = matrix.size * module
    if wide:
        text = Box(qr_x + side + clear, label.y + safe_margin, 0, label.height - 2 * safe_margin)
        text = Box(text.x, text.y, label.x + label.width - safe_margin - text.x, text.height)
        _draw_wide_text(canvas, card, text, details, small)
        return
    band_box = Box(label.x + safe_margin, label.y + safe_margin, label.width - 2 * safe_margin, 0)
    band_box = Box(band_box.x, band_box.y, band_box.width, qr_top - side - clear - band_box.y)
    strip = qr_x - clear - (label.x + safe_margin)
    if details and strip >= small * 1.15:
        _draw_side_details(canvas, details, qr_x - clear, qr_x + side + clear, strip, qr_top - side, side, small)
        details = []
    _draw_stacked_text(canvas, card, band_box, details, small)


def _refuse_unreadable(module: float, template_name: str) -> None:
    if module < MIN_MODULE_MM * 72 / 25.4:
        raise LayoutError(
            f"template {template_name!r}: QR modules would be {module * 25.4 / 72:.2f} mm, smaller than the "
            f"{MIN_MODULE_MM} mm a camera can read at arm's length; use a larger label"
        )


def _draw_side_details(
    canvas: Canvas,
    details: list[str],
    left_edge: float,
    right_edge: float,
    strip: float,
    bottom: float,
    length: float,
    small: float,
) -> None:
    """The details turned on their side, read from bottom to top: the first beside the code's
    left, the rest beside its right, each line shrunk to the code's height rather than cut."""
    columns = [details[:1], details[1:]] if len(details) > 1 else [details, []]
    canvas.saveState()
    canvas.setFillColorRGB(0.2, 0.2, 0.2)
    for lines, edge, toward in ((columns[0], left_edge, -1), (columns[1], right_edge, 1)):
        if not lines:
            continue
        size = min(small, strip / (len(lines) * 1.15))
        for n, line in enumerate(lines):
            # Turned a quarter left, a line's letters rise toward -x from its baseline: put the
            # baselines so that the nearest line's letters (or descenders) stop at the edge.
            step = n * size * 1.15
            x = edge - size * 0.25 - step if toward < 0 else edge + size * 0.8 + step
            runs = fonts.runs(fonts.visual_order(line))
            fitted = size
            while fonts.width(runs, fitted) > length and fitted > 3:
                fitted -= 0.25
            canvas.saveState()
            canvas.translate(x, bottom + (length - fonts.width(runs, fitted)) / 2)
            canvas.rotate(90)
            draw_runs(canvas, runs, 0, 0, fitted)
            canvas.restoreState()
    canvas.restoreState()


def _details(card: BadgeCard) -> list[str]:
    footer = card.small_print or "  ".join(
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
        draw_runs(canvas, detail_runs, x, y, size)
        y -= small * 1.2


def _draw_name(canvas: Canvas, lines: list[list[fonts.Run]], size: float, x: float, middle: float) -> None:
    canvas.setFillColorRGB(0, 0, 0)
    line_height = size * 1.1
    y = middle + (len(lines) * line_height) / 2 - size * 0.8
    for line in lines:
        draw_runs(canvas, line, x, y, size)
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
