"""Synthetic camera frames with and without a badge, shared by benchmarks and tests."""

from __future__ import annotations

import cv2
import numpy as np
import zxingcpp


def badge_image(payload: str, module_px: int = 6) -> np.ndarray:
    """A badge's QR code (with quiet zone) as an 8-bit grayscale image."""
    code = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level="H")
    modules = np.asarray(code.to_image(scale=1, add_quiet_zones=True))
    return cv2.resize(modules, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)


def classroom_frame(
    width: int,
    height: int,
    payload: str | None = None,
    *,
    code_fraction: float = 0.3,
    seed: int = 7,
    blur: float = 0.0,
    noise: float = 6.0,
    brightness: float = 1.0,
) -> np.ndarray:
    """A dim, noisy, textured scene; optionally a badge held in the middle at ``code_fraction`` of
    the frame height, slightly blurred as a hand-held card is."""
    rng = np.random.default_rng(seed)
    scene = cv2.GaussianBlur(rng.integers(60, 200, (height // 8, width // 8), dtype=np.uint8), (5, 5), 0)
    frame = cv2.resize(scene, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    if payload is not None:
        side = int(height * code_fraction)
        code = cv2.resize(badge_image(payload, 1), (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)
        card = np.full((int(side * 1.3), int(side * 1.1)), 235.0, np.float32)
        card[int(side * 0.05) : int(side * 0.05) + side, int(side * 0.05) : int(side * 0.05) + side] = code
        top, left = (height - card.shape[0]) // 2, (width - card.shape[1]) // 2
        frame[top : top + card.shape[0], left : left + card.shape[1]] = card
    if blur:
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
    frame = frame * brightness + rng.normal(0, noise, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)
