"""Synthetic camera frames and videos with a badge in them: for the demo, tests and benchmarks
(the stand-in for a webcam this machine does not have)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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
    card: np.ndarray | None = None,
    offset: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """A dim, noisy, textured scene; optionally a badge held in the middle at ``code_fraction`` of
    the frame height, slightly blurred as a hand-held card is. ``card`` is an image of a whole
    printed badge to hold up instead (e.g. a label rendered from a real badge PDF)."""
    rng = np.random.default_rng(seed)
    scene = cv2.GaussianBlur(rng.integers(60, 200, (height // 8, width // 8), dtype=np.uint8), (5, 5), 0)
    frame: np.ndarray = cv2.resize(scene, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    held: np.ndarray | None = None
    if card is not None:
        scale = height * code_fraction / card.shape[0]
        held = cv2.resize(card, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(np.float32)
    elif payload is not None:
        side = int(height * code_fraction)
        code = cv2.resize(badge_image(payload, 1), (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)
        held = np.full((int(side * 1.3), int(side * 1.1)), 235.0, np.float32)
        held[int(side * 0.05) : int(side * 0.05) + side, int(side * 0.05) : int(side * 0.05) + side] = code
    if held is not None:
        top = (height - held.shape[0]) // 2 + offset[1]
        left = (width - held.shape[1]) // 2 + offset[0]
        frame[top : top + held.shape[0], left : left + held.shape[1]] = held
    if blur:
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
    shaded = frame * brightness + rng.normal(0, noise, frame.shape)
    result: np.ndarray = np.clip(shaded, 0, 255).astype(np.uint8)
    return result


def badge_video_frames(
    *,
    payload: str | None = None,
    card: np.ndarray | None = None,
    width: int = 1280,
    height: int = 720,
    fps: int = 15,
    empty_seconds: float = 1.0,
    held_seconds: float = 3.0,
    brightness: float = 1.0,
) -> Iterator[np.ndarray]:
    """An empty scene, then a badge brought into view and held at arm's length (about a
    quarter of the frame height), then taken away again: grayscale frames."""
    for n in range(int(empty_seconds * fps)):
        yield classroom_frame(width, height, seed=n % 3, noise=3, brightness=brightness)
    for n in range(int(held_seconds * fps)):
        wobble = (int(6 * np.sin(n / 3)), int(4 * np.cos(n / 4)))  # a child's hand is never still
        yield classroom_frame(
            width,
            height,
            payload,
            card=card,
            code_fraction=0.28,
            seed=n % 3,
            noise=3,
            blur=0.6,
            offset=wobble,
            brightness=brightness,
        )
    for n in range(int(empty_seconds * fps)):
        yield classroom_frame(width, height, seed=n % 3, noise=3, brightness=brightness)


def write_badge_video(path: str, *, width: int = 1280, height: int = 720, fps: int = 15, **scene: Any) -> None:
    """The badge scene (``badge_video_frames``) as an MJPEG AVI, for ``--camera FILE``."""
    writer = cv2.VideoWriter(path, cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height), False)
    if not writer.isOpened():
        raise RuntimeError(f"cannot write video {path}")
    try:
        for frame in badge_video_frames(width=width, height=height, fps=fps, **scene):
            writer.write(frame)
    finally:
        writer.release()


def write_badge_y4m(path: str, *, width: int = 640, height: int = 480, fps: int = 15, **scene: Any) -> None:
    """The badge scene as YUV4MPEG2, the format Chromium's fake camera plays
    (``--use-file-for-fake-video-capture``); it loops the file."""
    if width % 2 or height % 2:
        raise ValueError(f"4:2:0 video needs an even width and height, not {width}x{height}")
    gray_chroma = np.full((height // 2) * (width // 2) * 2, 128, np.uint8).tobytes()
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in badge_video_frames(width=width, height=height, fps=fps, **scene):
            out.write(b"FRAME\n" + frame.tobytes() + gray_chroma)
