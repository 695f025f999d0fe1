"""Settings and the server key: refuse unsafe keys outside development, derive keys right."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from badge_server.errors import ConfigError
from badge_server.keys import ServerKeys, load_keys
from badge_server.settings import Settings


def make(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)


def test_production_refuses_to_start_without_a_key_and_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no server key at .*secret\.key.*badge-server init"):
        load_keys(make(tmp_path))
    assert not (tmp_path / "secret.key").exists()


@pytest.mark.parametrize("weak", ["changeme", "secret", "c2hvcnQ="])
def test_production_refuses_default_or_short_keys(tmp_path: Path, weak: str) -> None:
    with pytest.raises(ConfigError, match="BADGE_SECRET_KEY"):
        load_keys(make(tmp_path, secret_key=weak))


def test_development_creates_a_private_key_file_once(tmp_path: Path) -> None:
    settings = make(tmp_path, env="development")
    first = load_keys(settings)
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    again = load_keys(settings)
    assert first.secret_digest("ABC") == again.secret_digest("ABC")


def test_digests_are_keyed_and_secrets_round_trip_only_with_the_same_key() -> None:
    one = ServerKeys.from_master(b"1" * 32)
    two = ServerKeys.from_master(b"2" * 32)
    assert one.secret_digest("SECRET") != two.secret_digest("SECRET")
    sealed = one.encrypt("SECRET")
    assert b"SECRET" not in sealed
    assert one.decrypt(sealed) == "SECRET"
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        two.decrypt(sealed)


def test_settings_read_badge_environment_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BADGE_BADGE_GRADES", "KG, 01,02")
    monkeypatch.setenv("BADGE_BADGE_EXPIRY_DAYS", "200")
    monkeypatch.setenv("BADGE_SECRET_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.badge_grades == ("KG", "01", "02")
    assert settings.badge_expiry_days == 200
    load_keys(settings)  # a good key from the environment is accepted


def test_temporary_codes_cannot_be_configured_past_twelve_hours(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="temp_code_max_hours"):
        make(tmp_path, temp_code_max_hours=13)
    with pytest.raises(ValueError, match="temp_code_default_hours"):
        make(tmp_path, temp_code_default_hours=6, temp_code_max_hours=5)


def test_a_time_zone_must_be_one_the_database_of_zones_knows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BADGE_TIMEZONE", "America/Chicago")
    assert Settings(_env_file=None, data_dir=tmp_path).zone.key == "America/Chicago"
    monkeypatch.setenv("BADGE_TIMEZONE", "Central Time")
    with pytest.raises(ValueError, match="'Central Time' is not a time zone name such as America/Chicago"):
        Settings(_env_file=None, data_dir=tmp_path)
    monkeypatch.setenv("BADGE_TIMEZONE", "../../etc/passwd")  # zoneinfo refuses paths, with ValueError
    with pytest.raises(ValueError, match="is not a time zone name"):
        Settings(_env_file=None, data_dir=tmp_path)
