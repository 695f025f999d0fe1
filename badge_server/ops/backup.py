"""Backup and restore of the embedded (SQLite) database together with the server key.

A backup is one ``.tar.gz`` (mode 0600: it holds the key) with a consistent copy of the
database made by SQLite's online backup API while the server keeps running, the key file, and
a manifest. The key belongs in it: badge secrets are stored encrypted and looked up by a
keyed digest, so a database without its key cannot sign anyone in or reprint a badge.
PostgreSQL districts back up with ``pg_dump`` and keep the key file with the dumps.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from badge_server import __version__, key_check
from badge_server.errors import ConfigError
from badge_server.keys import ServerKeys, master_from_text
from badge_server.ops.private_files import open_private
from badge_server.settings import Settings

MANIFEST = "manifest.json"
DATABASE = "badge.db"
KEY = "secret.key"


def _sqlite_path(settings: Settings) -> Path:
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise ConfigError(
            "backup and restore handle the embedded SQLite database; for PostgreSQL use pg_dump / "
            f"pg_restore, and keep the server key ({settings.effective_secret_key_file}) with the dumps"
        )
    return Path(url.database)


def backup(settings: Settings, output: Path) -> dict[str, object]:
    """Write a backup archive to ``output`` (atomically) and return its manifest."""
    database = _sqlite_path(settings)
    if not database.exists():
        raise ConfigError(f"there is no database at {database} (run `badge-server init` first)")
    key_file = settings.effective_secret_key_file
    if settings.secret_key is None and not key_file.exists():
        raise ConfigError(f"the server key {key_file} is missing; a backup without it would be useless")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=output.parent) as folder:
        copy = Path(folder) / DATABASE
        source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        target = sqlite3.connect(copy)
        try:
            source.backup(target)  # a consistent snapshot, even with the server writing
        finally:
            target.close()
            source.close()
        key = Path(folder) / KEY
        with open_private(key) as handle:
            text = (
                settings.secret_key.get_secret_value() if settings.secret_key else key_file.read_text(encoding="utf-8")
            )
            handle.write(text.encode("utf-8"))
        manifest = {
            "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "server_version": __version__,
            "database_bytes": copy.stat().st_size,
        }
        (Path(folder) / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        partial = Path(folder) / "backup.tar.gz"
        with open_private(partial) as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            for name in (MANIFEST, DATABASE, KEY):
                archive.add(Path(folder) / name, arcname=name)
        os.replace(partial, output)
    return manifest


def _check_backup(archive_path: Path, database: Path, key_file: Path) -> None:
    """Refuse (ConfigError) a key that is not a server key, a database that is not ours or is
    damaged, and a pair that does not belong together (the database's key check value)."""
    try:
        keys = ServerKeys.from_master(master_from_text(key_file.read_text(encoding="ascii"), f"{archive_path}"))
    except (ConfigError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the server key in {archive_path} is not usable ({exc}); nothing was restored") from None
    try:
        check = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise ConfigError(f"the database in {archive_path} is damaged; nothing was restored")
            tables = {row[0] for row in check.execute("select name from sqlite_master where type = 'table'")}
            if not {"alembic_version", "people", "badges"} <= tables:
                raise ConfigError(
                    f"the database in {archive_path} is not a badge-server database; nothing was restored"
                )
            stored = None
            if "server_facts" in tables:
                row = check.execute("select value from server_facts where name = ?", (key_check.FACT,)).fetchone()
                stored = row[0] if row else None
        finally:
            check.close()
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"the database in {archive_path} cannot be read ({exc}); nothing was restored") from None
    if stored is not None and stored != keys.check_value():
        raise ConfigError(
            f"the key in {archive_path} is not the one its database was set up with; nothing was restored"
        )


def restore(settings: Settings, archive_path: Path, *, force: bool = False) -> dict[str, object]:
    """Put a backup's database and key in place. Stop the server first."""
    database = _sqlite_path(settings)
    key_file = settings.effective_secret_key_file
    if database.exists() and not force:
        raise ConfigError(f"{database} exists; stop the server and pass --force to replace it with the backup")
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            names = set(archive.getnames())
            if not {MANIFEST, DATABASE, KEY} <= names:
                raise ConfigError(
                    f"{archive_path} is not a badge-server backup (it lacks {MANIFEST}, {DATABASE} or {KEY})"
                )
            database.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=".restore-", dir=database.parent) as folder:
                archive.extractall(
                    folder, members=[archive.getmember(n) for n in (MANIFEST, DATABASE, KEY)], filter="data"
                )
                manifest: dict[str, object] = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
                # Everything is checked before anything live is touched: a restore that cannot
                # finish must leave the server as it was.
                _check_backup(archive_path, Path(folder) / DATABASE, Path(folder) / KEY)
                os.chmod(Path(folder) / DATABASE, 0o600)
                os.chmod(Path(folder) / KEY, 0o600)
                # The key first: a database must never be in place without the key that reads it.
                key_file.parent.mkdir(parents=True, exist_ok=True)
                os.replace(Path(folder) / KEY, key_file)
                for suffix in ("-wal", "-shm"):  # the old database's journal must not replay onto the new one
                    Path(f"{database}{suffix}").unlink(missing_ok=True)
                os.replace(Path(folder) / DATABASE, database)
    except (tarfile.TarError, OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot restore from {archive_path}: {exc}") from exc
    return manifest
