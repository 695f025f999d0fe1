"""Files that hold badge secrets (printed badges, letters with passwords, backups) are created
readable by their owner only, whatever the umask of the shell that ran the command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO


def open_private(path: Path) -> BinaryIO:
    """``path`` opened for writing, created (or truncated) with mode 0600."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its old mode through O_CREAT
    return os.fdopen(descriptor, "wb")
