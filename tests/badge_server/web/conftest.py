"""Browser tests: Debian's Chromium driven by Playwright against the real server on loopback.

Pages are the same whichever database is behind them, so these run on SQLite only. Every
page a test visits is screenshotted (into ``$BADGE_SCREENSHOT_DIR`` when set, for a person to
look at) and checked with axe-core for serious accessibility violations.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.conftest import LoopbackServer

ROOT = Path(__file__).resolve().parents[3]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests may run as root in a container
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--no-first-run",
    "--mute-audio",
]


def _missing(what: str) -> None:
    message = f"{what}; scripts/install --dev installs it"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(f"!!! SKIPPING BROWSER TESTS: {message}")


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if shutil.which("chromium") is None:
        _missing("Debian's chromium is not installed")
    with sync_playwright() as running:
        yield running


def launch_chromium(playwright: Playwright, camera: Path | None = None, *, allow_camera: bool = True) -> Browser:
    """Headless Chromium; with ``camera``, a fake webcam playing that .y4m file in a loop and,
    unless ``allow_camera`` is false, camera permission granted without a prompt."""
    args = list(CHROMIUM_ARGS)
    if camera is not None:
        args += ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={camera}"]
        if allow_camera:
            args.append("--use-fake-ui-for-media-stream")
    return playwright.chromium.launch(executable_path=shutil.which("chromium"), args=args, headless=True)


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    browser = launch_chromium(playwright)
    yield browser
    browser.close()


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
    page.js_errors = errors  # type: ignore[attr-defined]
    return context, page


@pytest.fixture
def page(chromium: Browser, server: LoopbackServer) -> Iterator[Page]:
    context, page = new_page(chromium, server)
    yield page
    context.close()


@pytest.fixture
def look_at(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[Page, str], list[dict[str, Any]]]:
    """Screenshot the page and run axe-core on it; returns the serious or critical violations."""
    if not AXE.exists():
        _missing(f"axe-core is not installed at {AXE}")
    target = Path(os.environ.get("BADGE_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    axe_source = AXE.read_text()

    def check(page: Page, name: str) -> list[dict[str, Any]]:
        page.screenshot(path=str(target / f"{request.node.name.split('[')[0]}-{name}.png"), full_page=True)
        # Evaluated through the DevTools protocol, so the page's own CSP (script-src 'self') still holds.
        page.evaluate(axe_source)
        result: dict[str, Any] = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["html"][:120] for n in v["nodes"][:3]]}
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]

    return check
