"""Every asset the pages load is served by the package itself, from pinned npm versions."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.support.browser import ROOT, js_errors
from tests.support.servers import LoopbackServer

PACKAGE = ROOT / "badge_server" / "web"


def test_the_vendored_code_is_the_locked_npm_releases() -> None:
    modules = ROOT / "web" / "node_modules"
    assert modules.exists(), "web/node_modules is installed by scripts/install --dev (npm ci)"
    for locked, vendored in (
        ("zxing-wasm/dist/iife/reader/index.js", "zxing-reader.js"),
        ("zxing-wasm/dist/reader/zxing_reader.wasm", "zxing_reader.wasm"),
        ("zxing-wasm/LICENSE", "zxing-wasm.LICENSE"),
        ("swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-bundle.js"),
        ("swagger-ui-dist/swagger-ui.css", "swagger-ui.css"),
        ("swagger-ui-dist/LICENSE", "swagger-ui.LICENSE"),
    ):
        copy = PACKAGE / "static" / "vendor" / vendored
        assert copy.read_bytes() == (modules / locked).read_bytes(), f"{vendored}: run scripts/vendor-js"


def test_pages_load_nothing_from_elsewhere() -> None:
    for template in (PACKAGE / "templates").glob("*/*.html"):
        text = template.read_text()
        external = re.findall(r'(?:src|href)="(?:https?:)?//[^"]+"', text)
        assert not external, f"{template.name} loads {external}"
        for asset in re.findall(r'(?:src|href)="/static/([^"]+)"', text):
            assert (PACKAGE / "static" / asset).is_file(), f"{template.name} needs static/{asset}"


def test_static_files_are_packaged() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"web/static/*"' in pyproject and '"web/static/vendor/*"' in pyproject
    assert all(p.parent.name in ("static", "vendor") for p in (PACKAGE / "static").rglob("*") if p.is_file())


def test_the_vendored_code_keeps_its_licence() -> None:
    assert "MIT License" in Path(PACKAGE / "static" / "vendor" / "zxing-wasm.LICENSE").read_text()


def test_the_decoder_is_served_as_webassembly_and_allowed_to_compile(server: LoopbackServer) -> None:
    """Browsers compile a .wasm while it downloads only when it is served as application/wasm;
    the worker's own CSP (a worker gets its script's) must allow WebAssembly and nothing more."""
    wasm = httpx.get(f"{server.url}/static/vendor/zxing_reader.wasm")
    assert wasm.status_code == 200 and wasm.headers["content-type"] == "application/wasm"
    worker = httpx.get(f"{server.url}/static/scan-worker.js")
    script_src = next(
        p for p in worker.headers["content-security-policy"].split(";") if p.strip().startswith("script-src")
    )
    assert script_src.split() == ["script-src", "'self'", "'wasm-unsafe-eval'"]


def test_the_api_documentation_page_shows_the_api_without_a_cdn(page: Page, server: LoopbackServer) -> None:
    """Issue 15: /docs was blank: FastAPI's page loads Swagger UI from a CDN, which the CSP blocks."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/docs")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/exchange").first).to_be_visible(timeout=20_000)
    assert all(url.startswith(server.url) for url in requested), [u for u in requested if not u.startswith(server.url)]
    assert js_errors(page) == []
