"""QR codes drawn as vector rectangles, at error-correction level H."""

from __future__ import annotations

from dataclasses import dataclass

import segno
from reportlab.pdfgen.canvas import Canvas

QUIET_ZONE = 4  # modules of white around the code, as the QR standard asks


@dataclass(frozen=True)
class QrMatrix:
    """Dark modules of one code, without the quiet zone."""

    size: int  # modules per side
    version: int
    rows: tuple[tuple[bool, ...], ...]

    @property
    def size_with_quiet_zone(self) -> int:
        return self.size + 2 * QUIET_ZONE


def make_matrix(text: str) -> QrMatrix:
    # boost_error=False: keep level H exactly, so the size is predictable per payload.
    code = segno.make(text, error="h", boost_error=False, micro=False)
    rows = tuple(tuple(bool(cell) for cell in row) for row in code.matrix)
    return QrMatrix(len(rows), int(code.version), rows)


def draw_matrix(canvas: Canvas, matrix: QrMatrix, x: float, top: float, module: float) -> None:
    """Draw the dark modules with (x, top) the top-left of the code itself (inside its quiet zone).

    Horizontal runs of dark modules become one rectangle each, all in one filled path, so the
    PDF stays small and no hairline seams appear between neighbouring modules when printed.
    """
    path = canvas.beginPath()
    for r, row in enumerate(matrix.rows):
        y = top - (r + 1) * module
        c = 0
        while c < matrix.size:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < matrix.size and row[c]:
                c += 1
            path.rect(x + start * module, y, (c - start) * module, module)
    canvas.drawPath(path, stroke=0, fill=1)
