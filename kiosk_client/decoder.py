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


_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


class ZxingDecoder:
    """zxing-cpp, QR codes only (other symbologies would only cost time).

    ``TextMode.Plain``: the exact text in the code. The default "human readable" mode rewrites
    some codes (GS1 fields in parentheses), and a badge must be compared byte for byte.
    """

    name = "zxing-cpp"

    def __init__(
        self, binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage, try_invert: bool = True
    ) -> None:
        self.binarizer = binarizer
        self.try_invert = try_invert

    def decode(self, gray: np.ndarray) -> list[Decoded]:
        found = []
        for barcode in zxingcpp.read_barcodes(
            gray,
            formats=_QR_ONLY,
            text_mode=zxingcpp.TextMode.Plain,
            binarizer=self.binarizer,
            try_invert=self.try_invert,
        ):
            if not barcode.valid:
                continue
            p = barcode.position
            corners = tuple((float(c.x), float(c.y)) for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left))
            found.append(Decoded(barcode.text, corners, self.name))
        return found


class PyzbarDecoder:
    """ZBar through pyzbar: slower, but reads some photos zxing-cpp misses; used as a fallback."""

    name = "pyzbar"

    def __init__(self) -> None:
        from pyzbar import pyzbar  # needs Debian's libzbar0

        self._pyzbar = pyzbar

    def decode(self, gray: np.ndarray) -> list[Decoded]:
        found = []
        for symbol in self._pyzbar.decode(gray, symbols=[self._pyzbar.ZBarSymbol.QRCODE]):
            try:
                text = symbol.data.decode("utf-8")
            except UnicodeDecodeError:
                text = symbol.data.decode("latin-1")
            corners = tuple((float(p.x), float(p.y)) for p in symbol.polygon)
            found.append(Decoded(text, corners, self.name))
        return found


def _centre_crop_upscaled(gray: np.ndarray, share: int = 2) -> tuple[np.ndarray, float, float] | None:
    """The middle 1/``share`` of the frame (each way), upscaled ``share`` times: the same number
    of pixels as the frame, so the look costs about what a whole frame does."""
    import cv2

    height, width = gray.shape[:2]
    if min(height, width) < 64:  # nothing to gain (and an empty crop) on a tiny frame
        return None
    top, left = (height - height // share) // 2, (width - width // share) // 2
    crop = gray[top : top + height // share, left : left + width // share]
    return cv2.resize(crop, None, fx=share, fy=share, interpolation=cv2.INTER_CUBIC), left, top


class BadgeScanner:
    """The kiosk's pipeline: zxing-cpp on the whole frame at full resolution, every frame; when
    that finds nothing, now and then a second look that helps the far, small or blurred badge.

    The every-frame look skips zxing-cpp's search for light-on-dark codes (badges are printed
    dark on light; that search cost 40% of an idle frame). Second looks take turns, one every
    ``second_look_every`` empty frames, so an idle kiosk costs little more than that one call:
    zxing-cpp with a global-histogram binarizer on a slightly blurred frame, inverted codes
    included (reads noisy and over-sharpened prints), zxing-cpp on the centre of the frame
    upscaled (where the framing guide asks children to hold the badge: the middle half twice,
    the middle third three times, for the badge held far away), and the fallback decoder
    (pyzbar, on a half-size copy of camera-sized frames) when there is one.
    """

    def __init__(self, fallback: Decoder | None = None, second_look_every: int = 5) -> None:
        self.primary = ZxingDecoder(try_invert=False)
        self.global_binarizer = ZxingDecoder(zxingcpp.Binarizer.GlobalHistogram)
        self.fallback = fallback
        self.second_look_every = max(1, second_look_every)
        self._empty_frames = 0
        self._looks = [self._blurred_global, self._centre_upscaled, self._centre_third_upscaled]
        if fallback is not None:
            self._looks.append(self._fallback_look)

    def scan(self, gray: np.ndarray, *, thorough: bool = False) -> list[Decoded]:
        """Codes in one grayscale frame. ``thorough`` takes every second look now (still images)."""
        found = self.primary.decode(gray)
        if found:
            self._empty_frames = 0
            return found
        self._empty_frames += 1
        if thorough:
            for look in self._looks:
                if found := look(gray):
                    return found
            return []
        if self._empty_frames % self.second_look_every == 0:
            turn = (self._empty_frames // self.second_look_every) % len(self._looks)
            return self._looks[turn](gray)
        return []

    def _fallback_look(self, gray: np.ndarray) -> list[Decoded]:
        import cv2

        assert self.fallback is not None
        if gray.shape[0] <= 480:
            return self.fallback.decode(gray)
        half = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        return [
            Decoded(d.text, tuple((2 * x, 2 * y) for x, y in d.corners), d.backend) for d in self.fallback.decode(half)
        ]

    def _blurred_global(self, gray: np.ndarray) -> list[Decoded]:
        import cv2

        return self.global_binarizer.decode(cv2.GaussianBlur(gray, (3, 3), 0))

    def _centre_upscaled(self, gray: np.ndarray, share: int = 2) -> list[Decoded]:
        cropped = _centre_crop_upscaled(gray, share)
        if cropped is None:
            return []
        crop, left, top = cropped
        return [
            Decoded(d.text, tuple((left + x / share, top + y / share) for x, y in d.corners), d.backend)
            for d in self.primary.decode(crop)
        ]

    def _centre_third_upscaled(self, gray: np.ndarray) -> list[Decoded]:
        # A badge at arm's length and beyond, held in the framing guide: its modules are 1-2
        # pixels, and three times the pixels (bicubic) is what zxing-cpp needs to find the
        # finder patterns. Measured in benchmarks/reach.py: +5 to +12 points at 40-60 cm at 720p.
        return self._centre_upscaled(gray, 3)


def default_scanner() -> BadgeScanner:
    """zxing-cpp with pyzbar as fallback when ZBar is installed (without it: zxing-cpp alone)."""
    try:
        return BadgeScanner(PyzbarDecoder())
    except ImportError:
        return BadgeScanner(None)
