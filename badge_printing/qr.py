"""QR codes drawn as vector rectangles, at error-correction level H."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import zxingcpp
from reportlab.pdfgen.canvas import Canvas

QUIET_ZONE = 4  # modules of white around the code, as the QR standard asks


@dataclass(frozen=True)
class QrMatrix:
    """Dark modules of one code (True = dark), without the quiet zone."""

    size: int  # modules per side
    version: int
    modules: np.ndarray

    @property
    def size_with_quiet_zone(self) -> int:
        return self.size + 2 * QUIET_ZONE


def make_matrix(text: str) -> QrMatrix:
    """Encode at level H. zxing-cpp encodes in C++ (about 0.1 ms a code, where a pure-Python
    encoder spent 7 ms choosing the mask), which is what lets a whole school print in seconds."""
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="H")
    modules = np.asarray(code.to_image(scale=1, add_quiet_zones=False)) < 128
    size = modules.shape[0]
    return QrMatrix(size, (size - 17) // 4, modules)


def draw_matrix(canvas: Canvas, matrix: QrMatrix, x: float, top: float, module: float) -> None:
    """Draw the dark modules with (x, top) the top-left of the code itself (inside its quiet zone).

    Horizontal runs of dark modules become one rectangle each, all in one filled path, so the
    PDF stays small and no hairline seams appear between neighbouring modules when printed.
    """
    path = canvas.beginPath()
    # Starts and ends of dark runs per row, found with one diff over the padded matrix.
    padded = np.zeros((matrix.size, matrix.size + 2), dtype=np.int8)
    padded[:, 1:-1] = matrix.modules
    edges = np.diff(padded, axis=1)
    for r in range(matrix.size):
        starts = np.flatnonzero(edges[r] == 1)
        ends = np.flatnonzero(edges[r] == -1)
        y = top - (r + 1) * module
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            path.rect(x + start * module, y, (end - start) * module, module)
    canvas.drawPath(path, stroke=0, fill=1)
