"""``badge-server COMMAND`` as IT runs it, with exactly the given BADGE_* settings.

Most tests run the command in this process through click's runner: the same click command, the
same settings read from the same environment and ``.env``, the same exit status and separate
output streams, without the 1.5-2 s of interpreter start and imports a real process costs (the
ops tests run about sixty commands, which made them the slowest tests in CI after packaging).
:func:`badge_server_process` runs a real process, for what only a process shows (a command that
serves, the interpreter's own exit).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from badge_server.ops.cli import main
from badge_server.runtime import Runtime

COMMAND = [sys.executable, "-m", "badge_server"]


@dataclass(frozen=True)
class Ran:
    """What a finished command left: its exit status and what it printed on each stream."""

    returncode: int
    stdout: str
    stderr: str


def badge_server(args: Sequence[str], env: Mapping[str, str], *, cwd: Path | None = None) -> Ran:
    """Run a command in this process with only ``env``'s BADGE_* variables set."""
    # None unsets a variable for the run: the test process's own BADGE_* (e.g. the PostgreSQL URL
    # for the test fixtures) must not leak into the command's settings.
    isolated: dict[str, str | None] = {name: None for name in os.environ if name.startswith("BADGE_")}
    isolated.update(env)
    with contextlib.chdir(cwd or Path.cwd()):
        result = CliRunner().invoke(main, list(args), env=isolated, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # IT would have seen a traceback: fail the test with it rather than hide it in a result.
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def badge_server_process(
    args: Sequence[str], env: Mapping[str, str], *, cwd: Path | None = None, timeout: float = 120
) -> Ran:
    """Run a command as a real process with only ``env``'s BADGE_* variables set."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("BADGE_")}
    environment.update(env)
    done = subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, env=environment, cwd=cwd, timeout=timeout, check=False
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def run_against(runtime: Runtime, *args: str, ok: bool = True, **more: str) -> Ran:
    """Run a command with the settings ``runtime`` (a test's server) runs with: its database and
    key, and ``more`` BADGE_* settings (``BADGE_PUBLIC_URL="..."``)."""
    settings = runtime.settings
    environment = {
        "BADGE_ENV": "production",
        "BADGE_DATA_DIR": str(settings.data_dir),
        "BADGE_DATABASE_URL": settings.database_url or "",
        "BADGE_SECRET_KEY": settings.secret_key.get_secret_value() if settings.secret_key else "",
        **more,
    }
    done = badge_server(args, environment)
    assert (done.returncode == 0) == ok, done.stderr
    return done
