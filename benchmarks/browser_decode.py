"""The browser scanner's decoders, compared in real Chromium on the same simulated webcam frames.

The frames are `benchmarks.reach`'s: a printed badge (rendered from the real PDF) held at a
distance from a 70 degree webcam, tilted, blurred, noisy, dimly lit. Each frame is decoded in the
page by:

- **jsQR** as the scanner page used it before (frame scaled to 960 px wide, no inverted pass);
- **zxing-wasm** through the page's real Web Worker (`badge_server/web/static/scan-worker.js`):
  the every-frame look alone, and with its second looks (what a badge held still for a moment
  gets, as the worker takes one every fifth empty frame);
- and, for reference, the Qt kiosk's pipeline (zxing-cpp in Python, second looks included).

Each cell is the share of frames read with the exact text; decode time is the median per frame.

Run: .venv/bin/python -m benchmarks.browser_decode [trials per cell, default 16] [template ...]
"""

from __future__ import annotations

import functools
import http.server
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
from pathlib import Path

import cv2
import numpy as np
from playwright.sync_api import sync_playwright

from badge_server.contract.payload import new_payload
from benchmarks.reach import DISTANCES_CM, camera_view, label_image
from kiosk_client.decoder import BadgeScanner, PyzbarDecoder

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "badge_server" / "web" / "static"
JSQR = ROOT / "web" / "node_modules" / "jsqr" / "dist" / "jsQR.js"
SIZES = ((1280, 720), (1920, 1080))
TEMPLATES = ("square-2in-letter",)

PAGE = """<!doctype html><meta charset="utf-8"><script src="/jsQR.js"></script><script>
const worker = new Worker("/static/scan-worker.js");
const ready = new Promise((resolve, reject) => {
  worker.onmessage = (e) => e.data.ready ? resolve() : reject(e.data.failed);
});
function inWorker(image, how) {
  return new Promise((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.postMessage({ pixels: image.data.buffer.slice(0), width: image.width, height: image.height, [how]: true });
  });
}
async function pixels(url, scale) {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob());
  const canvas = new OffscreenCanvas(Math.round(bitmap.width * scale), Math.round(bitmap.height * scale));
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return context.getImageData(0, 0, canvas.width, canvas.height);
}
async function decodeAll(urls) {
  await ready;
  const results = [];
  for (const url of urls) {
    const full = await pixels(url, 1);
    const small = await pixels(url, Math.min(1, 960 / full.width));
    const started = performance.now();
    const found = jsQR(small.data, small.width, small.height, { inversionAttempts: "dontInvert" });
    const jsqr = { text: found ? found.data : null, ms: performance.now() - started };
    results.push({ jsqr, plain: await inWorker(full, "plain"), thorough: await inWorker(full, "thorough") });
  }
  return results;
}
</script>"""


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    cv2.setNumThreads(1)
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    templates = sys.argv[2:] or TEMPLATES
    if not JSQR.exists():
        sys.exit("web/node_modules is missing: run scripts/vendor-js (or scripts/install --dev)")
    payload = str(new_payload())
    kiosk = BadgeScanner(PyzbarDecoder())
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; Chromium "
        f"(headless, Debian); {trials} frames per cell, 70 deg FOV"
    )
    print("| template | frame | decoder | " + " | ".join(f"{d} cm" for d in DISTANCES_CM) + " | median decode |")
    print("|" + "---|" * (4 + len(DISTANCES_CM)))
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        folder = Path(scratch)
        (folder / "static").symlink_to(STATIC)
        shutil.copy(JSQR, folder / "jsQR.js")
        (folder / "bench.html").write_text(PAGE)
        server, url = serve(folder)
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        page = browser.new_page()
        page.goto(f"{url}/bench.html")
        try:
            for template in templates:
                label = label_image(payload, template)
                for size in SIZES:
                    rates: dict[str, list[str]] = {
                        "jsQR (960 px)": [],
                        "zxing-wasm": [],
                        "zxing-wasm + second looks": [],
                    }
                    rates["kiosk pipeline (Python)"] = []
                    times: dict[str, list[float]] = {name: [] for name in rates}
                    for distance in DISTANCES_CM:
                        rng = np.random.default_rng(distance)
                        names = []
                        read = dict.fromkeys(rates, 0)
                        for trial in range(trials):
                            view = camera_view(label, distance, rng, size=size)
                            name = f"{template}-{size[0]}-{distance}-{trial}.png"
                            cv2.imwrite(str(folder / name), view)
                            names.append(f"/{name}")
                            found = kiosk.scan(view, thorough=True)
                            read["kiosk pipeline (Python)"] += any(code.text == payload for code in found)
                        results = page.evaluate("(urls) => decodeAll(urls)", names)
                        for result in results:
                            for name, key in (
                                ("jsQR (960 px)", "jsqr"),
                                ("zxing-wasm", "plain"),
                                ("zxing-wasm + second looks", "thorough"),
                            ):
                                read[name] += result[key]["text"] == payload
                                times[name].append(result[key]["ms"])
                        for name in rates:
                            rates[name].append(f"{100 * read[name] / trials:.0f}%")
                    for name, row in rates.items():
                        median = f"{statistics.median(times[name]):.1f} ms" if times[name] else "n/a"
                        print(
                            f"| {template} | {size[0]}x{size[1]} | {name} | " + " | ".join(row) + f" | {median} |",
                            flush=True,
                        )
        finally:
            browser.close()
            server.shutdown()


if __name__ == "__main__":
    main()
