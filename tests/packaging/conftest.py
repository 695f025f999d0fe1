"""Packaging tests install real packages on this machine (as root, or with passwordless sudo),
as IT would; they run on SQLite only (the package is the same whatever database serves it)."""

from __future__ import annotations

import pytest


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url
