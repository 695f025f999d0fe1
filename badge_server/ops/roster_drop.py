"""``badge-server import-drop FOLDER``: the scheduled roster import (badge-server-roster.timer).

A SIS, or its SFTP job, leaves a roster export in FOLDER: loose CSV files, or a ZIP of them. Once
nothing there has changed for ``settle_seconds`` (an upload still arriving waits for the next
run), the files are moved aside, imported with the same checks, guard and report as
``import-roster``, and filed under ``imported/<time>/`` with ``report.json``, or under
``refused/<time>/`` with ``problems.txt``; a refusal fails the command (and the unit), so it is
seen. Only the newest ``KEEP`` of each are kept: an export holds students' names.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from badge_server.errors import DropRefused, RosterImportError, UploadRefused
from badge_server.roster import ImportReport, import_roster
from badge_server.roster_files import unpack_roster
from badge_server.runtime import Runtime
from badge_server.settings import Settings

KEEP = 14
FILED = ("processing", "imported", "refused")
# Names an SFTP client or an editor gives a file while it is still being written.
UNFINISHED = (".part", ".tmp", ".filepart", ".partial", "~")


@dataclass(frozen=True)
class DropOutcome:
    """What a run found: nothing, an upload still arriving, or an import (its report and where
    the files went)."""

    state: str  # "empty" | "settling" | "imported"
    message: str
    report: ImportReport | None = None
    filed: Path | None = None


def _waiting(drop: Path) -> list[Path]:
    return sorted(
        entry
        for entry in drop.iterdir()
        if entry.is_file() and not entry.name.startswith(".") and not entry.name.endswith(UNFINISHED)
    )


def import_drop(settings: Settings, drop: Path, *, settle_seconds: float, actor: str) -> DropOutcome:
    """Import what waits in ``drop``, if it has settled; see the module's docstring."""
    if not drop.is_dir():
        raise UploadRefused(f"{drop} is not a folder: make it, and let the SIS's SFTP job write there")
    files = _waiting(drop)
    if not files:
        return DropOutcome("empty", f"nothing to import in {drop}")
    quiet = time.time() - max(entry.stat().st_mtime for entry in files)
    if quiet < settle_seconds:
        return DropOutcome(
            "settling", f"{len(files)} files in {drop} changed {quiet:.0f} s ago: importing once they settle"
        )
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    batch = drop / "processing" / stamp
    batch.mkdir(parents=True)
    for entry in files:  # moved first, so a new upload arriving meanwhile is the next run's
        entry.rename(batch / entry.name)
    unpacked = batch / "roster"
    unpacked.mkdir()
    try:
        arrived = sorted(entry for entry in batch.iterdir() if entry.is_file())
        names = unpack_roster([(entry.name, entry.read_bytes()) for entry in arrived], unpacked)
        runtime = Runtime.start(settings)
        try:
            report = import_roster(
                runtime.factory,
                unpacked,
                runtime.keys,
                runtime.settings,
                actor=actor,
                source=f"drop folder {drop}: {', '.join(sorted(names))}",
            )
        finally:
            runtime.engine.dispose()
    except (RosterImportError, UploadRefused) as exc:
        filed = _file(drop, batch, "refused", "problems.txt", f"{exc}\n")
        hint = (
            f" If the students really left: badge-server import-roster --allow-mass-deactivation {filed / 'roster'}"
            if "--allow-mass-deactivation" in str(exc)
            else ""
        )
        raise DropRefused(f"the roster export was refused and filed in {filed}: {exc}{hint}") from exc
    filed = _file(drop, batch, "imported", "report.json", json.dumps(report.as_dict(), indent=2))
    return DropOutcome("imported", f"imported {', '.join(sorted(names))}, filed in {filed}", report, filed)


def _file(drop: Path, batch: Path, outcome: str, note: str, text: str) -> Path:
    (batch / note).write_text(text, encoding="utf-8")
    target = drop / outcome / batch.name
    target.parent.mkdir(exist_ok=True)
    batch.rename(target)
    for old in sorted((drop / outcome).iterdir(), reverse=True)[KEEP:]:
        shutil.rmtree(old)
    return target
