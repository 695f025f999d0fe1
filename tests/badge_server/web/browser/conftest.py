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
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.support.browser import AXE, launch_chromium, missing, new_page
from tests.support.servers import LoopbackServer


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if shutil.which("chromium") is None:
        missing("Debian's chromium is not installed")
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    browser = launch_chromium(playwright)
    yield browser
    browser.close()


@pytest.fixture
def page(chromium: Browser, server: LoopbackServer) -> Iterator[Page]:
    context, page = new_page(chromium, server)
    yield page
    context.close()


NOT_CHECKED = ("accessibility", "not checked: axe-core missing")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # From each test's report (user_properties reach the main process under xdist too).
    unchecked = {
        report.nodeid
        for reports in terminalreporter.stats.values()
        for report in reports
        if NOT_CHECKED in getattr(report, "user_properties", ())
    }
    if unchecked:
        terminalreporter.write_line(
            f"!!! ACCESSIBILITY NOT CHECKED in {len(unchecked)} browser tests: axe-core is missing ({AXE}); "
            "scripts/install --dev installs it",
            red=True,
        )


@pytest.fixture
def look_at(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[Page, str], list[dict[str, Any]]]:
    """Screenshot the page and run axe-core on it; returns the serious or critical violations.

    Without axe-core (not under CI, where that fails the test) only the accessibility check is
    left out, loudly: the test's own steps still run."""
    axe_source = ""
    if AXE.exists():
        axe_source = AXE.read_text()
    elif os.environ.get("CI"):
        pytest.fail(f"axe-core is not installed at {AXE}; scripts/install --dev installs it")
    target = Path(os.environ.get("BADGE_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)

    def check(page: Page, name: str) -> list[dict[str, Any]]:
        page.screenshot(path=str(target / f"{request.node.name.split('[')[0]}-{name}.png"), full_page=True)
        if not axe_source:
            if NOT_CHECKED not in request.node.user_properties:
                request.node.user_properties.append(NOT_CHECKED)
            return []
        # Evaluated through the DevTools protocol, so the page's own CSP (script-src 'self') still holds.
        page.evaluate(axe_source)
        result: dict[str, Any] = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["html"][:120] for n in v["nodes"][:3]]}
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]

    return check
