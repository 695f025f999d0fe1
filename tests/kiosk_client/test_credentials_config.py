"""The device token's store and the kiosk's configuration file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kiosk_client.config import load_config
from kiosk_client.credentials import FileKeyring, SystemdCredential, load_token, save_token
from kiosk_client.errors import ConfigError, NotEnrolled


def test_file_keyring_keeps_the_token_private_and_survives_a_new_process_view(tmp_path: Path) -> None:
    path = tmp_path / "state" / "device-token.json"
    save_token(FileKeyring(path), "secret-device-token")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert load_token(FileKeyring(path)) == "secret-device-token"
    assert [p.name for p in path.parent.iterdir()] == ["device-token.json"]  # no temp files left


def test_not_enrolled_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(NotEnrolled, match="badge-kiosk enroll --server URL --code CODE"):
        load_token(FileKeyring(tmp_path / "none.json"))


def test_systemd_credentials_are_written_root_only_and_read_from_the_credentials_directory(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = tmp_path / "etc" / "device-token"
    save_token(SystemdCredential(source), "enrolled-token")  # `sudo badge-kiosk enroll`
    assert source.stat().st_mode & 0o777 == 0o600
    assert load_token(SystemdCredential(source)) == "enrolled-token"  # `sudo badge-kiosk check`
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "device-token").write_text("from-systemd\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))  # inside the service
    assert load_token(SystemdCredential(source)) == "from-systemd"


def test_config_file_values_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('server_url = "https://badges.district.example"\nlanguage = "es"\n', encoding="utf-8")
    config = load_config(path, camera="demo.mp4")
    assert config.server_url == "https://badges.district.example"
    assert config.language == "es" and config.camera == "demo.mp4"
    assert config.idle_sign_out_seconds == 120  # the documented default


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('server_url = "http://badges.district.example"', "plain HTTP"),
        ('langauge = "es"', "langauge: Extra inputs are not permitted"),
        ('language = "fr"', "language"),
        ("server_url = ", "not valid TOML"),
    ],
)
def test_bad_config_is_refused_naming_the_option(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)
