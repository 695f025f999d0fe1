"""Every asset the pages load is served by the package itself, from pinned npm versions."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.support.browser import ROOT
from tests.support.servers import LoopbackServer

PACKAGE = ROOT / "badge_server" / "web"


def test_the_vendored_decoder_is_the_locked_npm_release() -> None:
    release = ROOT / "web" / "node_modules" / "zxing-wasm"
    assert release.exists(), "web/node_modules is installed by scripts/install --dev (npm ci)"
    for locked, vendored in (
        ("dist/iife/reader/index.js", "zxing-reader.js"),
        ("dist/reader/zxing_reader.wasm", "zxing_reader.wasm"),
        ("LICENSE", "zxing-wasm.LICENSE"),
    ):
        copy = PACKAGE / "static" / "vendor" / vendored
        assert copy.read_bytes() == (release / locked).read_bytes(), f"{vendored}: run scripts/vendor-js"


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
