"""The OCI container file: minimal and non-root, starting the server the way the unit does.
The image is built and run only where a container engine is running."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest

from tests.support.packaging import ROOT, run
from tests.support.servers import wait_until_serving

CONTAINERFILE = ROOT / "packaging" / "server" / "Containerfile"


def test_the_image_runs_as_a_numbered_user_and_migrates_before_serving() -> None:
    lines = [
        line.strip() for line in CONTAINERFILE.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].isdigit() and int(users[-1]) > 0, "the final image must not run as root"
    cmd = next(line for line in lines if line.startswith("CMD "))
    assert "badge-server init &&" in cmd and "exec badge-server serve" in cmd
    assert any(line.startswith("HEALTHCHECK") and "/healthz" in line for line in lines)
    assert not any(line.startswith("ADD ") for line in lines), "COPY only: nothing fetched at build time"


def _engine() -> str | None:
    for tool in ("docker", "podman"):
        path = shutil.which(tool)
        if path and subprocess.run([path, "info"], capture_output=True, timeout=20).returncode == 0:
            return path
    return None


def test_the_image_builds_and_serves() -> None:
    engine = _engine()
    if engine is None:
        pytest.skip("!!! SKIPPING CONTAINER BUILD: no running container engine (docker or podman) on this machine")
    tag = "badge-server-test:latest"
    run([engine, "build", "-f", str(CONTAINERFILE), "-t", tag, str(ROOT)], timeout=1200)
    started = run([engine, "run", "-d", "-p", "127.0.0.1::8000", "-e", "BADGE_PUBLIC_URL=http://localhost", tag])
    container = started.stdout.strip()
    try:
        port = run([engine, "port", container, "8000"]).stdout.strip().rsplit(":", 1)[1]
        wait_until_serving(f"http://127.0.0.1:{port}")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
        assert run([engine, "exec", container, "id", "-u"]).stdout.strip() == "10001"
    finally:
        run([engine, "rm", "-f", container], check=False)
