"""The letter home's pictures (run through scripts/letter-pictures)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pypdfium2 as pdfium
import zxingcpp
from PIL import Image, ImageFilter
from playwright.sync_api import Route, ViewportSize, sync_playwright

from badge_printing import BUILT_IN, BadgeCard, render_sheets
from badge_printing.letters import PICTURES
from kiosk_client.frames import write_badge_y4m

LANGUAGES = {"en": "en-US", "es": "es-ES"}
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
PICTURE_WIDTH = 800  # pixels kept: sharp at the ~2.5 in the letter prints them


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def badge_image(payload: str, name: str) -> object:
    template = BUILT_IN["square-2in-letter"]
    document = pdfium.PdfDocument(render_sheets([BadgeCard(payload=payload, name=name, key=name)], template))
    try:
        page = document[1].render(scale=150 / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()
    left, top = template.label_origin(0)
    scale = 150 / 72
    box = (left * scale, top * scale, (left + template.label_width) * scale, (top + template.label_height) * scale)
    import numpy as np

    return np.asarray(page.crop(tuple(int(v) for v in box)))


def unreadable_codes(image: Image.Image) -> Image.Image:
    """The picture with every QR code in it blurred past reading, straight or mirrored: a letter
    home must carry one code, the child's own (the scanner's picture shows the demo badge, and a
    kiosk camera reads a mirrored code too)."""
    image = image.copy()
    for view in (image, image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)):
        for code in zxingcpp.read_barcodes(view.convert("L")):
            p = code.position
            xs = [c.x for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)]
            ys = [c.y for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)]
            if view is not image:  # back to the unmirrored picture's coordinates
                xs = [image.width - 1 - x for x in xs]
            box = (
                max(min(xs) - 4, 0),
                max(min(ys) - 4, 0),
                min(max(xs) + 5, image.width),
                min(max(ys) + 5, image.height),
            )
            image.paste(image.crop(box).filter(ImageFilter.GaussianBlur(4)), box[:2])
    return image


def save(png: bytes, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = target.with_suffix(".raw.png")
    raw.write_bytes(png)
    with Image.open(raw) as image:
        small = image.convert("RGB").resize(
            (PICTURE_WIDTH, PICTURE_WIDTH * image.height // image.width), Image.Resampling.LANCZOS
        )
        unreadable_codes(small).save(target, optimize=True)
    raw.unlink()
    print(f"wrote {target}")


HELD: list[Route] = []


def hold(route: Route) -> None:
    HELD.append(route)  # never answered: the page stays on "Reading…"


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="letter-pictures-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BADGE_")} | {"BADGE_DATA_DIR": str(work / "data")}
    command = [sys.executable, "-m", "badge_server"]
    subprocess.run(
        [*command, "demo", "--no-serve", "--data-dir", str(work / "data")],
        env=env,
        check=True,
        cwd=work,
        capture_output=True,
    )
    payload = (work / "data" / "demo-badge.txt").read_text().strip()
    video = work / "camera.y4m"
    write_badge_y4m(
        str(video), width=1280, height=720, card=badge_image(payload, "José García"), empty_seconds=0.3, held_seconds=30
    )
    port = free_port()
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port)],
        env=env,
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium"),
                args=[
                    "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-video-capture={video}",
                    "--use-fake-ui-for-media-stream",
                    "--no-sandbox",
                ],
            )
            for language, locale in LANGUAGES.items():
                # 1: the scanner with the badge held up. The sign-in is held back, so the
                # picture shows the camera and the badge in the box, not the welcome after it.
                context = browser.new_context(base_url=base, viewport=VIEWPORT, locale=locale)
                page = context.new_page()
                page.route("**/scan/home", hold)
                page.goto("/scan")
                reading = "() => document.getElementById('scanner').dataset.state === 'reading'"
                page.wait_for_function(reading, timeout=30_000)
                save(page.screenshot(), PICTURES / language / "scan.png")
                context.close()
                # 2: the dashboard the badge opens.
                context = browser.new_context(base_url=base, viewport=VIEWPORT, locale=locale)
                page = context.new_page()
                page.goto("/scan")
                page.wait_for_url("**/dashboard", timeout=30_000)
                page.wait_for_load_state("networkidle")
                save(page.screenshot(), PICTURES / language / "dashboard.png")
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
