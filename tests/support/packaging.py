"""Installing real packages as IT would: as root (or with passwordless sudo), with the tools they need."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def as_root() -> list[str]:
    """The prefix that runs a command as root here, or a loud skip (a failure under CI)."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    message = "installing packages needs root or passwordless sudo"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(f"!!! SKIPPING PACKAGE INSTALL TESTS: {message}")


def need(tool: str, package: str) -> str:
    found = shutil.which(tool)
    if found is None:
        message = f"{tool} is missing (Debian package {package}; scripts/install --dev installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(f"!!! SKIPPING: {message}")
    return found


def run(
    command: list[str], *, timeout: float = 300, check: bool = True, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    if check:
        assert done.returncode == 0, f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done
