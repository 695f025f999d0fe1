"""A roster's files as they arrive (loose CSVs or a ZIP, from the console or a drop folder),
unpacked into a folder the importer reads: only OneRoster's own names, at most 200 MB."""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from badge_server.errors import UploadRefused

ROSTER_FILES = (
    "manifest.csv",
    "orgs.csv",
    "academicSessions.csv",
    "courses.csv",
    "classes.csv",
    "users.csv",
    "enrollments.csv",
    "roles.csv",  # OneRoster 1.2
    "demographics.csv",
)
MAX_ROSTER_BYTES = 200 * 1024 * 1024  # unpacked; a 50,000-student district is a few tens of MB


def _unpacked(archive: zipfile.ZipFile, member: zipfile.ZipInfo, zip_name: str) -> bytes:
    """One member's bytes, or a refusal naming it: a bad CRC, a password, a cut-off file or an
    unknown compression must not become a 500."""
    if member.flag_bits & 0x1:
        raise UploadRefused(f"{member.filename} in {zip_name} is encrypted; export the roster without a password")
    try:
        data = archive.read(member)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError, OSError, ValueError) as exc:
        raise UploadRefused(
            f"{member.filename} in {zip_name} cannot be unpacked ({exc}); export the roster again"
        ) from None
    # Declared sizes can lie: what was unpacked counts, not what the header said.
    if len(data) != member.file_size:
        raise UploadRefused(f"{member.filename} in {zip_name} is not the size its ZIP entry says")
    return data


def unpack_roster(files: Iterable[tuple[str, bytes]], target: Path) -> list[str]:
    """Roster files (name, bytes: loose CSVs or ZIPs of them) into ``target``; only known names."""
    written: list[str] = []
    total = 0
    for given_name, data in files:
        name = PurePosixPath(given_name).name
        if name.lower().endswith(".zip"):
            try:
                archive = zipfile.ZipFile(io.BytesIO(data))
            except (zipfile.BadZipFile, ValueError, EOFError) as exc:
                raise UploadRefused(f"{name} is not a readable ZIP file") from exc
            for member in archive.infolist():
                inner = PurePosixPath(member.filename).name  # folders inside the ZIP are ignored
                if inner in ROSTER_FILES:
                    total += member.file_size  # the declared size; a ZIP bomb stops here
                    if total > MAX_ROSTER_BYTES:
                        raise UploadRefused("the roster is larger than 200 MB unpacked")
                    (target / inner).write_bytes(_unpacked(archive, member, name))
                    written.append(inner)
        elif name in ROSTER_FILES:
            total += len(data)
            if total > MAX_ROSTER_BYTES:
                raise UploadRefused("the roster is larger than 200 MB")
            (target / name).write_bytes(data)
            written.append(name)
        elif name:
            raise UploadRefused(f"{name} is not a OneRoster file (expected {', '.join(ROSTER_FILES[:8])} or a ZIP)")
    if not written:
        raise UploadRefused("choose the roster's CSV files, or one ZIP of them")
    return written
