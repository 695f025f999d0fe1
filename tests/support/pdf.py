"""Reading rendered PDFs back as a person and a camera would: rasterise, decode, extract text."""

from __future__ import annotations

import unicodedata

import numpy as np
import pypdfium2 as pdfium

from badge_printing import BUILT_IN, BadgeCard, render_sheets
from badge_printing.templates import SheetTemplate
from kiosk_client.decoder import ZxingDecoder


def rasterise(pdf: bytes, page: int, dpi: int) -> np.ndarray:
    document = pdfium.PdfDocument(pdf)
    try:
        bitmap = document[page].render(scale=dpi / 72, grayscale=True)
        return np.array(bitmap.to_numpy()[:, :, 0] if bitmap.to_numpy().ndim == 3 else bitmap.to_numpy())
    finally:
        document.close()


def page_count(pdf: bytes) -> int:
    document = pdfium.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


def page_text(pdf: bytes, page: int) -> str:
    """Text of a page, NFKC-normalised (so shaped Arabic presentation forms read as letters)."""
    document = pdfium.PdfDocument(pdf)
    try:
        text = document[page].get_textpage().get_text_range()
    finally:
        document.close()
    return unicodedata.normalize("NFKC", text)


def payloads_by_label(pdf: bytes, page: int, template: SheetTemplate, dpi: int) -> dict[int, str]:
    """Decode every QR code on a sheet and say which label it sits in."""
    image = rasterise(pdf, page, dpi)
    found: dict[int, str] = {}
    for code in ZxingDecoder().decode(image):
        x_pt, y_pt = (v * 72 / dpi for v in code.centre)
        for index in range(template.per_sheet):
            left, top = template.label_origin(index)
            if left <= x_pt <= left + template.label_width and top <= y_pt <= top + template.label_height:
                assert index not in found, f"two codes in label {index}"
                found[index] = code.text
                break
        else:
            raise AssertionError(f"a code at {x_pt:.0f},{y_pt:.0f} pt is outside every label")
    return found


def label_image(pdf: bytes, page: int, template: SheetTemplate, index: int, dpi: int = 150) -> np.ndarray:
    """One label of a sheet, rasterised as a camera would see the paper."""
    image = rasterise(pdf, page, dpi)
    left, top = template.label_origin(index)
    scale = dpi / 72
    return image[
        int(top * scale) : int((top + template.label_height) * scale),
        int(left * scale) : int((left + template.label_width) * scale),
    ].copy()


def printed_badge(payload: str, name: str) -> np.ndarray:
    """A real badge PDF made for one student (page 0 is the cover sheet), its label rasterised."""
    template = BUILT_IN["square-2in-letter"]
    pdf = render_sheets([BadgeCard(payload=payload, name=name, class_name="Kindergarten", key=name)], template)
    return label_image(pdf, 1, template, 0)
