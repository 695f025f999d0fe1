"""Lay cards out on sheets and write the PDF: cover page, badges, cut marks, calibration."""

from __future__ import annotations

import dataclasses
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import BinaryIO

from reportlab.lib.colors import Color
from reportlab.pdfgen.canvas import Canvas

from badge_printing import fonts
from badge_printing.card import BadgeCard, Box, draw_card, draw_runs
from badge_printing.errors import LayoutError
from badge_printing.templates import MM, SheetTemplate


@dataclass(frozen=True)
class CoverWords:
    """The cover page's words, ``str.format`` templates; a caller in another language passes its
    own (the server's come from its catalogues, in the teacher's language)."""

    title: str = "Badges: {name}"
    summary: str = "{count} badges on {stock}. Printed {date}."
    how_to_print: str = "Print at 100% (actual size), not 'fit to page'. Sheets follow this page."
    place: str = "sheet {sheet}, row {row}, col {column}"
    right_to_left: bool = False  # lines start at the right margin (Arabic)


@dataclass(frozen=True)
class PrintOptions:
    """Per-print settings: printers shift, so offsets move everything (millimetres, right/down)."""

    offset_x_mm: float = 0.0
    offset_y_mm: float = 0.0
    cut_marks: bool | None = None  # None: as the template says (plain paper gets them)
    title: str = "Badges"
    cover_page: bool = True
    outlines: bool = False  # draw label outlines (for proofs on plain paper)
    cover_words: CoverWords = CoverWords()


def _chunks(cards: Iterable[BadgeCard], size: int) -> Iterator[list[BadgeCard]]:
    iterator = iter(cards)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _label_box(template: SheetTemplate, index: int, options: PrintOptions) -> Box:
    left, top = template.label_origin(index)
    left += options.offset_x_mm * MM
    top += options.offset_y_mm * MM
    return Box(left, template.page_height - top - template.label_height, template.label_width, template.label_height)


def _cut_marks(canvas: Canvas, box: Box, length: float = 9.0, gap: float = 3.0) -> None:
    canvas.saveState()
    canvas.setLineWidth(0.6)
    canvas.setStrokeColorRGB(0, 0, 0)
    for x in (box.x, box.x + box.width):
        for y in (box.y, box.top):
            dx = -1 if x == box.x else 1
            dy = -1 if y == box.y else 1
            canvas.line(x + dx * gap, y, x + dx * (gap + length), y)
            canvas.line(x, y + dy * gap, x, y + dy * (gap + length))
    canvas.restoreState()


def _text(canvas: Canvas, text: str, x: float, y: float, size: float, *, bold: bool = False) -> None:
    draw_runs(canvas, fonts.runs(fonts.visual_order(text), bold=bold), x, y, size)


def _cover_line(canvas: Canvas, text: str, at: tuple[float, float], size: float, page: SheetTemplate, words: CoverWords,
                *, bold: bool = False) -> None:  # fmt: skip
    """A cover page line whose start is ``at[0]`` points in from the side its language starts on."""
    inset, y = at
    text_runs = fonts.runs(fonts.visual_order(text), bold=bold)
    x = page.page_width - inset - fonts.width(text_runs, size) if words.right_to_left else inset
    draw_runs(canvas, text_runs, x, y, size)


def _cover_page(canvas: Canvas, cards: list[BadgeCard], template: SheetTemplate, options: PrintOptions) -> None:
    """First page: who is on which sheet, so a teacher can find one child's badge."""
    width, height = template.page_width, template.page_height
    words = options.cover_words
    _cover_line(canvas, options.title, (54, height - 72), 20, template, words, bold=True)
    # The date isolated left to right (LRI ... PDI): after Arabic words its parts would otherwise
    # run right to left, "04-12-2026".
    summary = words.summary.format(
        count=len(cards), stock=template.description, date=f"\u2066{date.today():%Y-%m-%d}\u2069"
    )
    _cover_line(canvas, summary, (54, height - 94), 10, template, words)
    _cover_line(canvas, words.how_to_print, (54, height - 110), 10, template, words)
    y = height - 140
    inset = 54.0
    for index, card in enumerate(cards):
        sheet, position = divmod(index, template.per_sheet)
        row, column = divmod(position, template.columns)
        line = f"{words.place.format(sheet=sheet + 1, row=row + 1, column=column + 1)}   {card.name}"
        if card.reference:
            line += f"   ({card.reference})"
        _cover_line(canvas, line, (inset, y), 9, template, words)
        y -= 13
        if y < 54:
            if inset > 54:
                canvas.showPage()
                y, inset = height - 72, 54.0
            else:
                y, inset = height - 140, width / 2 + 10
    canvas.showPage()


def write_sheets(
    cards: Iterable[BadgeCard],
    template: SheetTemplate,
    output: BinaryIO,
    options: PrintOptions | None = None,
) -> int:
    """Render badges to ``output`` one sheet at a time; returns how many were drawn.

    Cards are consumed lazily and page streams are compressed as each page is finished, so a
    whole school prints in bounded memory. The cover page needs the list, so it is only made
    when ``cards`` is a list (a class); a stream of cards gets none.
    """
    options = options or PrintOptions()
    fonts.ensure_fonts()
    canvas = Canvas(output, pagesize=(template.page_width, template.page_height), pageCompression=1)
    canvas.setTitle(options.title)
    canvas.setCreator("badge-login badge_printing")
    if options.cover_page and isinstance(cards, list) and cards:
        _cover_page(canvas, cards, template, options)
    marks = template.plain_paper if options.cut_marks is None else options.cut_marks
    count = 0
    for sheet in _chunks(cards, template.per_sheet):
        for index, card in enumerate(sheet):
            box = _label_box(template, index, options)
            draw_card(canvas, card, box, template.safe_margin, template.name)
            if marks:
                _cut_marks(canvas, box)
            if options.outlines:
                _outline(canvas, template, box)
        canvas.showPage()
        count += len(sheet)
    if count == 0:
        raise LayoutError("there are no badges to print")
    canvas.save()
    return count


def render_sheets(cards: Iterable[BadgeCard], template: SheetTemplate, options: PrintOptions | None = None) -> bytes:
    """The PDF as bytes (for a class; use :func:`write_sheets` to stream a school to a file)."""
    buffer = io.BytesIO()
    write_sheets(list(cards), template, buffer, options)
    return buffer.getvalue()


def _outline(canvas: Canvas, template: SheetTemplate, box: Box, *, dashed_safe: bool = False) -> None:
    canvas.saveState()
    canvas.setLineWidth(0.5)
    canvas.setStrokeColorRGB(0.1, 0.3, 0.8)
    canvas.roundRect(box.x, box.y, box.width, box.height, template.corner_radius, stroke=1, fill=0)
    if dashed_safe:
        canvas.setDash(2, 2)
        canvas.setStrokeColor(Color(0.1, 0.3, 0.8, alpha=0.6))
        m = template.safe_margin
        canvas.rect(box.x + m, box.y + m, box.width - 2 * m, box.height - 2 * m, stroke=1, fill=0)
    canvas.restoreState()


def _rulers(canvas: Canvas, template: SheetTemplate) -> None:
    """Millimetre and inch rulers along the top and left edges, measured from the page edge."""
    canvas.saveState()
    canvas.setLineWidth(0.3)
    height = template.page_height
    canvas.setFont("BadgeSans", 5)
    for mm in range(0, int(template.page_width / MM) + 1):
        tick = 6 if mm % 10 == 0 else 3 if mm % 5 == 0 else 1.5
        canvas.line(mm * MM, height, mm * MM, height - tick)
        if mm % 10 == 0 and mm:
            canvas.drawCentredString(mm * MM, height - 12, f"{mm}")
    for mm in range(0, int(height / MM) + 1):
        tick = 6 if mm % 10 == 0 else 3 if mm % 5 == 0 else 1.5
        canvas.line(0, height - mm * MM, tick, height - mm * MM)
        if mm % 10 == 0 and mm:
            canvas.drawString(8, height - mm * MM - 2, f"{mm}")
    for quarter in range(0, int(template.page_width / 18) + 1):
        tick = 8 if quarter % 4 == 0 else 4
        canvas.line(quarter * 18, 0, quarter * 18, tick)
        if quarter % 4 == 0 and quarter:
            canvas.drawCentredString(quarter * 18, 10, f'{quarter // 4}"')
    canvas.restoreState()


def render_calibration(template: SheetTemplate, options: PrintOptions | None = None) -> bytes:
    """A page of label outlines and rulers: print it, hold it over a label sheet against the light."""
    options = options or PrintOptions()
    fonts.ensure_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(template.page_width, template.page_height))
    canvas.setTitle(f"Calibration: {template.name}")
    _rulers(canvas, template)
    for index in range(template.per_sheet):
        box = _label_box(template, index, options)
        _outline(canvas, template, box, dashed_safe=True)
        canvas.setFillColorRGB(0.1, 0.3, 0.8)
        canvas.setFont("BadgeSans", 7)
        canvas.drawCentredString(box.x + box.width / 2, box.y + box.height / 2, f"{index + 1}")
    first = _label_box(template, 0, options)
    lines = [
        f"Calibration: {template.name} - {template.description}",
        "Print at 100% / actual size. Hold this page over an empty label sheet against the light.",
        "Solid lines should sit on the label edges; dashed lines show where printing stops.",
        "If they are off, print badges with --offset-x / --offset-y in mm (right and down are positive).",
        f"Offsets used for this page: x {options.offset_x_mm:+.1f} mm, y {options.offset_y_mm:+.1f} mm.",
        f"Source of the geometry: {template.source}",
    ]
    y = max(first.top + 4, template.page_height - 60)
    y = min(y, template.page_height - 22)
    for line in lines:
        _text(canvas, line, 24, y if y < template.page_height - 20 else template.page_height - 20, 6.5)
        y -= 8
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def write_groups_zip(
    groups: Iterable[tuple[str, list[BadgeCard]]],
    template: SheetTemplate,
    output: BinaryIO,
    options: PrintOptions | None = None,
) -> int:
    """A whole school: one PDF per class (with its cover page) in a ZIP, written one class at a
    time, so memory holds one class however large the school. Returns the badges drawn."""
    options = options or PrintOptions()
    total = 0
    used: set[str] = set()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_STORED) as archive:  # PDFs are compressed
        for title, cards in groups:
            buffer = io.BytesIO()
            total += write_sheets(
                cards,
                template,
                buffer,
                dataclasses.replace(options, title=options.cover_words.title.format(name=title)),
            )
            name = _file_name(title, used)
            archive.writestr(name, buffer.getvalue())
    if total == 0:
        raise LayoutError("there are no badges to print")
    return total


def _file_name(title: str, used: set[str]) -> str:
    stem = re.sub(r"[^\w.-]+", "-", unicodedata.normalize("NFKC", title)).strip("-")[:80] or "badges"
    name, n = f"{stem}.pdf", 2
    while name in used:
        name, n = f"{stem}-{n}.pdf", n + 1
    used.add(name)
    return name
