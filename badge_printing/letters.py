"""The letter home: one page per student, with their badge to cut out, how to sign in at home
step by step with pictures of the pages, the fallback username and password, and what to do when
it does not work. A pure library like the badge sheets: the server gathers what goes on it.

The pictures are real screenshots of the scanner and the dashboard (``scripts/letter-pictures``
takes them, per language, into ``badge_printing/letter_pictures/<lang>/``); a language without
its own pictures uses the English ones.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from badge_printing import fonts
from badge_printing.card import BadgeCard, Box, draw_card, draw_runs
from badge_printing.errors import LayoutError
from badge_printing.letter_words import LETTER_WORDS
from badge_printing.templates import INCH

PICTURES = Path(__file__).parent / "letter_pictures"
PAGE_SIZES = {"letter": LETTER, "a4": A4}
BADGE_SIDE = 3 * INCH  # 76 mm: the code gets 1.9 mm modules, read from arm's length by a laptop camera
MARGIN = 0.6 * INCH
INK, SOFT, ACCENT = HexColor("#1d1d1d"), HexColor("#4a4a4a"), HexColor("#30638e")


@dataclass(frozen=True)
class LetterHome:
    """Everything on one student's letter. ``password`` None: the student chose their own."""

    card: BadgeCard
    student_name: str
    school: str
    sign_in_url: str  # the server's public address, e.g. https://badges.example.org
    username: str
    password: str | None
    language: str = "en"

    def __post_init__(self) -> None:
        if self.language not in LETTER_WORDS:
            raise LayoutError(f"no letter words for language {self.language!r}; have {', '.join(LETTER_WORDS)}")
        if not self.sign_in_url.startswith(("https://", "http://")):
            raise LayoutError(f"the sign-in address must be a full URL, not {self.sign_in_url!r}")


def render_letters(letters: Sequence[LetterHome], page_size: str = "letter") -> bytes:
    """One page per letter, in order."""
    if not letters:
        raise LayoutError("no letters to print")
    if page_size not in PAGE_SIZES:
        raise LayoutError(f"page size must be one of {', '.join(PAGE_SIZES)}, not {page_size!r}")
    fonts.ensure_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=PAGE_SIZES[page_size], pageCompression=1)
    canvas.setTitle("Signing in at home")
    for letter in letters:
        draw_letter(canvas, letter, *PAGE_SIZES[page_size])
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _say(letter: LetterHome, key: str) -> str:
    first = letter.student_name.split()[0] if letter.student_name.split() else letter.student_name
    return LETTER_WORDS[letter.language][key].format(name=first, school=letter.school, url=letter.sign_in_url)


def _text(canvas: Canvas, text: str, x: float, y: float, size: float, *, bold: bool = False) -> float:
    """Draw one line in fonts that cover its scripts; returns its width."""
    text_runs = fonts.runs(fonts.visual_order(text), bold=bold)
    draw_runs(canvas, text_runs, x, y, size)
    return fonts.width(text_runs, size)


def _wrapped(
    canvas: Canvas, text: str, x: float, top: float, width: float, size: float, *, bold: bool = False
) -> float:
    """Draw ``text`` wrapped to ``width`` from ``top`` down; returns the y below the last line."""
    line, y = "", top - size
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and fonts.width(fonts.runs(candidate, bold=bold), size) > width:
            _text(canvas, line, x, y, size, bold=bold)
            line, y = word, y - size * 1.3
        else:
            line = candidate
    if line:
        _text(canvas, line, x, y, size, bold=bold)
    return y - size * 0.6


def _picture(canvas: Canvas, language: str, name: str, x: float, top: float, width: float, caption: str) -> float:
    path = PICTURES / language / f"{name}.png"
    if not path.exists():
        path = PICTURES / "en" / f"{name}.png"
    if not path.exists():
        return top  # no pictures taken yet (scripts/letter-pictures): the words still say it all
    image = ImageReader(str(path))
    w, h = image.getSize()
    height: float = width * h / w
    canvas.drawImage(image, x, top - height, width, height)
    canvas.setStrokeColor(SOFT)
    canvas.setLineWidth(0.5)
    canvas.rect(x, top - height, width, height, stroke=1, fill=0)
    canvas.setFillColor(SOFT)
    _text(canvas, caption, x, top - height - 10, 7.5)
    canvas.setFillColor(INK)
    return top - height - 16


def draw_letter(canvas: Canvas, letter: LetterHome, page_width: float, page_height: float) -> None:
    top = page_height - MARGIN
    content = page_width - 2 * MARGIN
    canvas.setFillColor(SOFT)
    _text(canvas, letter.school, MARGIN, top - 10, 10)
    canvas.setFillColor(INK)
    _text(canvas, _say(letter, "title"), MARGIN, top - 38, 24, bold=True)
    full_name = LETTER_WORDS[letter.language]["for"].format(name=letter.student_name)
    _text(canvas, full_name, MARGIN, top - 60, 14, bold=True)
    y = _wrapped(canvas, _say(letter, "intro"), MARGIN, top - 70, content, 11)

    # The badge, on the left, inside a dashed cut line.
    badge_top = y - 8
    box = Box(MARGIN, badge_top - BADGE_SIDE, BADGE_SIDE, BADGE_SIDE)
    draw_card(canvas, letter.card, box, 0.12 * INCH, "letter")
    canvas.setDash(4, 3)
    canvas.setStrokeColor(SOFT)
    canvas.setLineWidth(0.8)
    canvas.roundRect(box.x - 4, box.y - 4, box.width + 8, box.height + 8, 8, stroke=1, fill=0)
    canvas.setDash()
    canvas.setFillColor(SOFT)
    _wrapped(canvas, "✂ " + _say(letter, "cut"), MARGIN, box.y - 10, BADGE_SIDE, 8.5)
    canvas.setFillColor(INK)

    # The steps, on the right, with pictures of the pages.
    steps_x = MARGIN + BADGE_SIDE + 0.35 * INCH
    steps_width = page_width - MARGIN - steps_x
    picture_width = (steps_width - 10) / 2
    step_y = badge_top
    for number, key in ((1, "step1"), (2, "step2"), (3, "step3")):
        canvas.setFillColor(ACCENT)
        canvas.circle(steps_x + 9, step_y - 9, 9, stroke=0, fill=1)
        canvas.setFillColor(HexColor("#ffffff"))
        _text(canvas, str(number), steps_x + 5.5, step_y - 13, 11, bold=True)
        canvas.setFillColor(INK)
        step_y = _wrapped(canvas, _say(letter, key), steps_x + 24, step_y, steps_width - 24, 10.5)
        if number == 1:
            canvas.setFillColor(ACCENT)
            _text(canvas, f"{letter.sign_in_url}/scan", steps_x + 24, step_y - 11, 12, bold=True)
            canvas.setFillColor(INK)
            step_y -= 20
        step_y -= 4
    pictures_bottom = min(
        _picture(canvas, letter.language, "scan", steps_x, step_y, picture_width, _say(letter, "picture_scan")),
        _picture(
            canvas,
            letter.language,
            "dashboard",
            steps_x + picture_width + 10,
            step_y,
            picture_width,
            _say(letter, "picture_apps"),
        ),
    )

    # No camera: the username and password, in a box.
    y = min(box.y - 30, pictures_bottom) - 10
    canvas.setStrokeColor(ACCENT)
    canvas.setLineWidth(1.5)
    canvas.roundRect(MARGIN, y - 92, content, 92, 8, stroke=1, fill=0)
    _text(canvas, _say(letter, "no_camera"), MARGIN + 12, y - 20, 13, bold=True)
    label_width = max(fonts.width(fonts.runs(_say(letter, k)), 11) for k in ("open", "username", "password")) + 10
    rows = (
        ("open", f"{letter.sign_in_url}/sign-in/password"),
        ("username", letter.username),
        ("password", letter.password or _say(letter, "chosen")),
    )
    for n, (key, value) in enumerate(rows):
        line_y = y - 42 - n * 19
        _text(canvas, _say(letter, key), MARGIN + 12, line_y, 11)
        secret = key in ("username", "password") and not (key == "password" and letter.password is None)
        if secret:
            canvas.setFont("Courier-Bold", 15)  # l, 1 and I look different in a typewriter font
            canvas.drawString(MARGIN + 12 + label_width, line_y, value)
        else:
            _text(canvas, value, MARGIN + 12 + label_width, line_y, 11, bold=True)

    # When it does not work.
    y -= 112
    _text(canvas, _say(letter, "trouble"), MARGIN, y, 13, bold=True)
    y -= 8
    for key in ("trouble1", "trouble2", "trouble3", "trouble4"):
        _text(canvas, "•", MARGIN + 2, y - 10, 10)
        y = _wrapped(canvas, _say(letter, key), MARGIN + 14, y, content - 14, 10) - 2
    canvas.setFillColor(SOFT)
    _wrapped(canvas, _say(letter, "footer"), MARGIN, MARGIN + 14, content, 8.5)
    canvas.setFillColor(INK)
    if y < MARGIN + 30:
        raise LayoutError(f"the letter for {letter.student_name} does not fit on one page")
