"""Scan reach: how far from the camera a printed badge still reads, per decoder and QR version.

Badges are rendered from real PDFs (badge_printing; each template named on the command line,
by default the 2 in square label and the Avery 5395 name badge) and placed into a
simulated 1280x720 and 1920x1080 webcam view (70 degree field of view) at a distance, with a random tilt of
up to 35 degrees, focus and motion blur, sensor noise, dim light and, sometimes, a glare spot
from a ceiling light on the laminate. Each cell is the share of trials read with the exact text.

Two payloads print on the same label: ours (34 characters, QR alphanumeric: version 3 at
level H) and a URL-style badge such as other products print (a 70-character https link with the
same secret: version 8 at level H), whose modules come out smaller on the same label.

Run: .venv/bin/python -m benchmarks.reach [trials per cell, default 24] [template ...]
"""

from __future__ import annotations

import math
import os
import platform
import sys
from collections.abc import Callable

import cv2
import numpy as np
import pypdfium2 as pdfium
import zxingcpp

from badge_printing import BUILT_IN, BadgeCard, render_sheets
from badge_server.contract.payload import new_payload
from kiosk_client.decoder import BadgeScanner, Decoded, PyzbarDecoder, ZxingDecoder
from kiosk_client.frames import classroom_frame

WIDTH, HEIGHT = 1280, 720
FIELD_OF_VIEW_DEGREES = 70  # horizontal, a typical laptop or USB webcam
DISTANCES_CM = (20, 30, 40, 50, 60, 70, 80)
TEMPLATES = ("square-2in-letter", "avery-5395")
SIZES = ((1280, 720), (1920, 1080))  # what a kiosk asked for before issue 14, and what it asks for now


def label_image(payload: str, template_name: str = "square-2in-letter", dpi: int = 400) -> np.ndarray:
    template = BUILT_IN[template_name]
    pdf = render_sheets([BadgeCard(payload=payload, name="José García", class_name="Kindergarten", key="x")], template)
    document = pdfium.PdfDocument(pdf)
    try:
        page = np.asarray(document[1].render(scale=dpi / 72, grayscale=True).to_pil().convert("L"))
    finally:
        document.close()
    left, top = template.label_origin(0)
    scale = dpi / 72
    return page[
        int(top * scale) : int((top + template.label_height) * scale),
        int(left * scale) : int((left + template.label_width) * scale),
    ].copy()


def qr_version(payload: str) -> int:
    """The version zxing-cpp's encoder (the one badge_printing uses) picks at level H."""
    code = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level="H")
    modules: int = np.asarray(code.to_image(scale=1, add_quiet_zones=False)).shape[0]
    return (modules - 17) // 4


def camera_view(
    label: np.ndarray,
    distance_cm: float,
    rng: np.random.Generator,
    dpi: int = 400,
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> np.ndarray:
    """``label`` (rendered at ``dpi``) held ``distance_cm`` from the camera, as one webcam frame
    of ``size`` (width, height): the same lens at 1080p sees the badge 1.5 times as many pixels wide."""
    width, height = size
    focal_px = (width / 2) / math.tan(math.radians(FIELD_OF_VIEW_DEGREES / 2))
    width_mm = label.shape[1] / dpi * 25.4
    across = max(8, int(focal_px * width_mm / (distance_cm * 10)))
    down = max(8, round(across * label.shape[0] / label.shape[1]))
    card = cv2.resize(label, (across, down), interpolation=cv2.INTER_AREA)
    # Tilt: the card turned about its vertical axis, one edge nearer the camera (a homography).
    tilt = math.radians(rng.uniform(0, 35)) * rng.choice((-1, 1))
    shrink = math.cos(tilt)
    skew = abs(math.sin(tilt)) * down * 0.08
    near, far = (0.0, skew) if tilt > 0 else (skew, 0.0)
    target = np.array([[0, near], [across * shrink, far], [across * shrink, down - far], [0, down - near]], np.float32)
    source = np.array([[0, 0], [across, 0], [across, down], [0, down]], np.float32)
    warp = cv2.getPerspectiveTransform(source, target)
    warped = cv2.warpPerspective(card, warp, (across, down), borderValue=0)
    mask = cv2.warpPerspective(np.full_like(card, 255), warp, (across, down))
    brightness = rng.uniform(0.45, 1.0)
    frame: np.ndarray = classroom_frame(width, height, seed=int(rng.integers(0, 1000)), noise=0).astype(np.float32)
    top = (height - down) // 2 + int(rng.integers(-40, 40))
    left = (width - across) // 2 + int(rng.integers(-120, 120))
    region = frame[top : top + down, left : left + across]
    region[mask > 0] = warped[mask > 0]
    if rng.random() < 0.3:  # glare: a soft bright spot on the laminate
        yy, xx = np.mgrid[0:height, 0:width]
        cy, cx = top + rng.uniform(0.2, 0.8) * down, left + rng.uniform(0.2, 0.8) * across
        radius = min(across, down) * rng.uniform(0.08, 0.2)
        frame += 140 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))
    frame = cv2.GaussianBlur(frame, (0, 0), rng.uniform(0.5, 1.4))  # focus
    if rng.random() < 0.5:  # a hand moving
        length = int(rng.integers(2, 6))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1 / length
        frame = cv2.filter2D(frame, -1, kernel)
    frame = frame * brightness + rng.normal(0, rng.uniform(2, 7), frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


def main() -> None:
    cv2.setNumThreads(1)
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 24
    templates = sys.argv[2:] or TEMPLATES
    ours = str(new_payload())
    url_style = "https://badges.example.org/login/badge?k=" + ours[8:].lower()
    decoders: dict[str, Callable[[np.ndarray], list[Decoded]]] = {
        "zxing-cpp": ZxingDecoder().decode,
        "pyzbar": PyzbarDecoder().decode,
        "kiosk pipeline": lambda g: BadgeScanner(PyzbarDecoder()).scan(g, thorough=True),
    }
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {trials} trials per cell, 70 deg FOV")
    header = "| frame | template | payload (QR version, module) | decoder | " + " | ".join(
        f"{d} cm" for d in DISTANCES_CM
    )
    print(header + " |")
    print("|" + "---|" * (4 + len(DISTANCES_CM)))
    for size, template in ((size, template) for size in SIZES for template in templates):
        for name, payload in ((f"ours, {len(ours)} chars", ours), (f"URL-style, {len(url_style)} chars", url_style)):
            label = label_image(payload, template)
            version = qr_version(payload)
            module = module_mm(label, payload)
            rates: dict[str, list[str]] = {decoder: [] for decoder in decoders}
            for distance in DISTANCES_CM:
                rng = np.random.default_rng(distance)
                views = [camera_view(label, distance, rng, size=size) for _ in range(trials)]
                for decoder, decode in decoders.items():
                    read = sum(1 for view in views if any(code.text == payload for code in decode(view)))
                    rates[decoder].append(f"{100 * read / trials:.0f}%")
            for decoder, row in rates.items():
                cells = " | ".join(row)
                frame = f"{size[0]}x{size[1]}"
                print(
                    f"| {frame} | {template} | {name} (v{version}, {module:.2f} mm) | {decoder} | {cells} |",
                    flush=True,
                )


def module_mm(label: np.ndarray, payload: str, dpi: int = 400) -> float:
    """The printed module size, measured on the rendered label (not taken from the layout code)."""
    found = ZxingDecoder().decode(label)
    xs = [x for x, _ in found[0].corners]
    size = 4 * qr_version(payload) + 17
    return (max(xs) - min(xs)) / size / dpi * 25.4


if __name__ == "__main__":
    main()
