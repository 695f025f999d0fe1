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
from badge_server.staff_oidc import DistrictIdentityProvider


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


def test_staff_sign_in_with_the_districts_account_needs_all_of_its_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BADGE_STAFF_OIDC_ISSUER", "https://login.microsoftonline.com/0000-tenant/v2.0")
    with pytest.raises(ValueError, match="so BADGE_STAFF_OIDC_CLIENT_ID, BADGE_STAFF_OIDC_CLIENT_SECRET or _FILE, "
                       "BADGE_STAFF_OIDC_EMAIL_DOMAINS must be too"):  # fmt: skip
        Settings(_env_file=None, data_dir=tmp_path)
    (tmp_path / "client-secret").write_text("s3cret\n")
    monkeypatch.setenv("BADGE_STAFF_OIDC_CLIENT_ID", "badge-console")
    monkeypatch.setenv("BADGE_STAFF_OIDC_CLIENT_SECRET_FILE", str(tmp_path / "client-secret"))
    monkeypatch.setenv("BADGE_STAFF_OIDC_EMAIL_DOMAINS", "@Riverside.example, staff.riverside.example")
    monkeypatch.setenv("BADGE_STAFF_OIDC_EMAIL_CLAIM", "preferred_username")
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.staff_oidc_email_domains == ("riverside.example", "staff.riverside.example")
    provider = DistrictIdentityProvider.from_settings(settings)
    assert provider is not None and provider.label == "Microsoft" and provider.email_claim == "preferred_username"
    monkeypatch.setenv("BADGE_STAFF_OIDC_ISSUER", "http://idp.riverside.example")
    with pytest.raises(ValueError, match=r"'http://idp\.riverside\.example' must use https"):
        Settings(_env_file=None, data_dir=tmp_path)
    monkeypatch.delenv("BADGE_STAFF_OIDC_ISSUER")
    assert DistrictIdentityProvider.from_settings(Settings(_env_file=None, data_dir=tmp_path)) is None
