"""The set-up sheet of a cart enrolment link: one page with the link as a big QR code, held up
to each Chromebook's camera at its sign-in screen (where nobody can open a link)."""

from __future__ import annotations

import os
from pathlib import Path

from reportlab.lib.pagesizes import letter
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas

from badge_printing import fonts
from badge_printing.qr import QUIET_ZONE, draw_matrix, make_matrix
from badge_server.enrol_links import EnrolLinkGrant
from badge_server.errors import PrintingError

# 12 cm across: a version-7 code (a URL with a 43-character token) gets modules of about 2 mm,
# readable by a Chromebook's 720p camera from an arm's length.
QR_WIDTH = 12 * cm
MARGIN = 2 * cm


def _line(canvas: Canvas, text: str, y: float, size: float, *, bold: bool = False) -> float:
    """Draw one line at the left margin (any script the badge fonts cover); the next line's y."""
    x = MARGIN
    for run in fonts.runs(fonts.visual_order(text), bold=bold):
        canvas.setFont(run.font, size)
        canvas.drawString(x, y, run.text)
        x += fonts.width([run], size)
    return y - size * 1.45


def write_enrol_sheet(grant: EnrolLinkGrant, school_name: str, output: Path) -> None:
    """Write the one-page PDF; written to a temporary file first, so no half-written sheet is left."""
    fonts.ensure_fonts()
    partial = output.with_name(output.name + ".partial")
    try:
        _draw(grant, school_name, partial)
        os.replace(partial, output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise PrintingError(f"cannot write the set-up sheet to {output}: {exc.strerror or exc}") from exc


def _draw(grant: EnrolLinkGrant, school_name: str, path: Path) -> None:
    width, height = letter
    canvas = Canvas(str(path), pagesize=letter, pageCompression=1)
    canvas.setTitle(f"Scanner set-up sheet: {school_name}")
    canvas.setCreator("badge-login")
    expires = grant.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    y = _line(canvas, "Set up this cart's Chromebooks as badge scanners", height - MARGIN - 18, 18, bold=True)
    y = _line(canvas, school_name, y, 14, bold=True)
    y = _line(canvas, f'Names: "{grant.name_prefix} 1", "{grant.name_prefix} 2", ... — up to {grant.max_uses}', y, 11)
    y = _line(canvas, f"Works until {expires} (link {grant.link_id})", y, 11)

    matrix = make_matrix(grant.url)
    module = QR_WIDTH / matrix.size_with_quiet_zone
    top = y - 0.5 * cm - QUIET_ZONE * module
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    draw_matrix(canvas, matrix, (width - matrix.size * module) / 2, top, module)
    y = top - matrix.size * module - QUIET_ZONE * module - 0.6 * cm

    for step in (
        "1. Start the Chromebook and wait for its sign-in screen (the badge scanner).",
        '2. Hold this sheet up to its camera, about 30 cm away, until it says "Show your badge".',
        '3. Next Chromebook. Each becomes the next scanner; see them in the console under "Devices".',
    ):
        y = _line(canvas, step, y, 11)
    y -= 0.4 * cm
    y = _line(canvas, f"Anyone holding this sheet can set up scanners for {school_name} until it expires", y, 9)
    y = _line(
        canvas, f"or is revoked. Shred it when the cart is done: badge-server enrol-link revoke {grant.link_id}", y, 9
    )
    canvas.showPage()
    canvas.save()
