"""QR decoding behind one small interface. zxing-cpp is the primary decoder (fast, and the best
reader of real photos measured on this project's corpus)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import zxingcpp


@dataclass(frozen=True)
class Decoded:
    """One code found in a frame: its text and its corner points in pixels."""

    text: str
    corners: tuple[tuple[float, float], ...]
    backend: str

    @property
    def centre(self) -> tuple[float, float]:
        xs = [x for x, _ in self.corners]
        ys = [y for _, y in self.corners]
        return sum(xs) / len(xs), sum(ys) / len(ys)


class Decoder(Protocol):
    """Something that finds QR codes in an 8-bit grayscale image."""

    name: str

    def decode(self, gray: np.ndarray) -> list[Decoded]: ...


class ZxingDecoder:
    """zxing-cpp, QR codes only (other symbologies would only cost time)."""

    name = "zxing-cpp"

    def decode(self, gray: np.ndarray) -> list[Decoded]:
        found = []
        for barcode in zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)):
            if not barcode.valid:
                continue
            p = barcode.position
            corners = tuple((float(c.x), float(c.y)) for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left))
            found.append(Decoded(barcode.text, corners, self.name))
        return found
