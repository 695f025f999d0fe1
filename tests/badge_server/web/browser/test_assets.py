"""Every asset the pages load is served by the package itself, from pinned npm versions."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.browser import ROOT

PACKAGE = ROOT / "badge_server" / "web"


def test_the_vendored_decoder_is_the_locked_npm_release() -> None:
    locked = ROOT / "web" / "node_modules" / "jsqr" / "dist" / "jsQR.js"
    assert locked.exists(), "web/node_modules is installed by scripts/install --dev (npm ci)"
    vendored = PACKAGE / "static" / "vendor" / "jsQR.js"
    assert vendored.read_bytes() == locked.read_bytes(), "run scripts/vendor-js"


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


def test_the_readme_of_the_vendored_code_keeps_its_licence() -> None:
    assert "Apache License" in Path(PACKAGE / "static" / "vendor" / "jsQR.LICENSE").read_text()
