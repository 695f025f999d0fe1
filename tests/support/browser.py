"""Debian's Chromium driven by Playwright: launch it (optionally with a fake webcam), open a page."""

from __future__ import annotations

import os
import shutil
import weakref
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from tests.support.servers import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests may run as root in a container
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--no-first-run",
    "--mute-audio",
]

_JS_ERRORS: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


def missing(what: str) -> None:
    message = f"{what}; scripts/install --dev installs it"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(f"!!! SKIPPING BROWSER TESTS: {message}")


def launch_chromium(playwright: Playwright, camera: Path | None = None, *, allow_camera: bool = True) -> Browser:
    """Headless Chromium; with ``camera``, a fake webcam playing that .y4m file in a loop and,
    unless ``allow_camera`` is false, camera permission granted without a prompt."""
    args = list(CHROMIUM_ARGS)
    if camera is not None:
        args += ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={camera}"]
        if allow_camera:
            args.append("--use-fake-ui-for-media-stream")
    return playwright.chromium.launch(executable_path=shutil.which("chromium"), args=args, headless=True)


def new_page(browser: Browser, server: LoopbackServer, **options: Any) -> tuple[BrowserContext, Page]:
    options.setdefault("viewport", {"width": 1366, "height": 768})
    context = browser.new_context(base_url=server.url, **options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A 404 page the test asked for on purpose is logged as a failed resource: not a script error.
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    _JS_ERRORS[page] = errors
    return context, page


def js_errors(page: Page) -> list[str]:
    """The script errors and console errors of a page opened with ``new_page``, so far."""
    return _JS_ERRORS[page]
