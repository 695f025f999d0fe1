"""Backup of the embedded database and key while the server runs; restore brings that moment back."""

from __future__ import annotations

import io
import stat
import tarfile
from pathlib import Path
from typing import cast

import httpx
import pytest

from badge_server import badges
from badge_server.errors import ConfigError
from badge_server.keys import write_new_key_file
from badge_server.ops.backup import backup, restore
from badge_server.ops.setup import initialise
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.store.db import transaction
from badge_server.store.models import Person
from tests.support.api import error_code, exchange
from tests.support.database import new_secret_key, sqlite_copy
from tests.support.district import District
from tests.support.servers import LoopbackServer

JOSE = "st-0001"


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    return sqlite_copy(sqlite_template, tmp_path / "data" / "badge.db")  # in the data folder backed up


def test_a_backup_made_while_serving_restores_that_moment_with_its_key(
    server: LoopbackServer, district: District, settings: Settings, tmp_path: Path
) -> None:
    archive = tmp_path / "backups" / "nightly.tar.gz"
    with httpx.Client(base_url=server.url) as kiosk:
        assert exchange(kiosk, district.device_token, district.payloads[JOSE]).status_code == 200
        manifest = backup(settings, archive)  # the server keeps running and writing
        assert cast(int, manifest["database_bytes"]) > 0
        assert stat.S_IMODE(archive.stat().st_mode) == 0o600, "the archive holds the server key"
        with transaction(district.runtime.factory) as session:
            person = session.get(Person, JOSE)
            assert person is not None
            badges.replace(session, district.runtime.keys, settings, person, actor="test")
        assert error_code(exchange(kiosk, district.device_token, district.payloads[JOSE])) == "badge_replaced"

    # Another machine: an empty data folder and no key of its own; the key comes from the backup.
    elsewhere = tmp_path / "restored"
    restored_settings = Settings(
        _env_file=None,
        data_dir=elsewhere,
        database_url=f"sqlite:///{elsewhere / 'badge.db'}",
    )
    restore(restored_settings, archive)
    with pytest.raises(ConfigError, match="--force"):
        restore(restored_settings, archive)
    runtime = Runtime.start(restored_settings)
    try:
        with LoopbackServer(runtime) as second, httpx.Client(base_url=second.url) as kiosk:
            answer = exchange(kiosk, district.device_token, district.payloads[JOSE])
            assert answer.status_code == 200, "the badge as it was at backup time, read with the backed-up key"
    finally:
        runtime.engine.dispose()


def test_restore_refuses_what_is_not_a_backup_and_postgres_is_sent_to_pg_dump(tmp_path: Path) -> None:
    bogus = tmp_path / "photos.tar.gz"
    with tarfile.open(bogus, "w:gz") as archive:
        (tmp_path / "cat.jpg").write_bytes(b"\xff\xd8\xff")
        archive.add(tmp_path / "cat.jpg", arcname="cat.jpg")
    settings = Settings(_env_file=None, data_dir=tmp_path / "d", secret_key=new_secret_key())
    with pytest.raises(ConfigError, match="not a badge-server backup"):
        restore(settings, bogus)
    assert not (tmp_path / "d" / "badge.db").exists()
    postgres = Settings(_env_file=None, database_url="postgresql+psycopg://x@localhost/y", secret_key=new_secret_key())
    with pytest.raises(ConfigError, match="pg_dump"):
        backup(postgres, tmp_path / "x.tar.gz")


def test_restore_checks_the_archive_before_it_touches_the_live_key_or_database(tmp_path: Path) -> None:
    """Finding 14: a 1-byte database and a 1-byte key were accepted, and the live key was
    replaced before either was checked."""
    live = tmp_path / "live"
    settings = Settings(_env_file=None, data_dir=live, env="development")
    assert initialise(settings)
    key_before = (live / "secret.key").read_bytes()
    database_before = (live / "badge.db").read_bytes()
    good = tmp_path / "good.tar.gz"
    backup(settings, good)

    def variant(name: str, **replace: bytes) -> Path:
        path = tmp_path / name
        with tarfile.open(good, "r:gz") as source, tarfile.open(path, "w:gz") as target:
            for member in source.getmembers():
                data = replace.get(member.name, source.extractfile(member).read())  # type: ignore[union-attr]
                member.size = len(data)
                target.addfile(member, io.BytesIO(data))
        return path

    other_key = tmp_path / "other.key"
    write_new_key_file(other_key)
    for archive, why in (
        (variant("tiny-db.tar.gz", **{"badge.db": b"x"}), "not a badge-server database|cannot be read"),
        (variant("tiny-key.tar.gz", **{"secret.key": b"x"}), "server key in"),
        (variant("foreign-key.tar.gz", **{"secret.key": other_key.read_bytes()}), "not the one its database"),
    ):
        with pytest.raises(ConfigError, match=why) as refused:
            restore(settings, archive, force=True)
        assert "nothing was restored" in str(refused.value)
        assert (live / "secret.key").read_bytes() == key_before, archive.name
        assert (live / "badge.db").read_bytes() == database_before, archive.name
    assert restore(settings, good, force=True)["server_version"]  # the real one still restores
