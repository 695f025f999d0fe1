"""The kiosk's one configuration file (TOML): ``/etc/badge-kiosk/kiosk.toml`` or ``--config``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kiosk_client.api import check_server_url
from kiosk_client.errors import ConfigError

SYSTEM_CONFIG = Path("/etc/badge-kiosk/kiosk.toml")


class KioskConfig(BaseModel):
    """Every option, with its default. Unknown options are refused (a typo must not go unnoticed)."""

    model_config = ConfigDict(extra="forbid")

    server_url: str = Field(
        "https://badges.example.org", description="The badge server (https; http only to loopback)."
    )
    ca_bundle: str | None = Field(None, description="PEM file of extra CAs (e.g. a district's TLS-inspecting proxy).")
    camera: str = Field("0", description="Device index, device path (/dev/video0), or a video/image file (looped).")
    camera_width: int = Field(
        1920, ge=160, description="Largest resolution asked of the camera; `badge-kiosk check` reports the one given."
    )
    camera_height: int = Field(1080, ge=120)
    camera_format: str = Field(
        "MJPG",
        pattern=r"^([A-Z0-9]{4})?$",
        description="Pixel format asked of the camera (MJPG: 1080p at 30 fps over USB); empty: the camera's own.",
    )
    language: Literal["en", "es", "ar"] = Field("en", description="Words on screen: en, es or ar (right to left).")
    token_store: Literal["file", "systemd", "keyring"] = Field("file", description="Where the device token lives.")
    token_file: Path = Field(Path("/var/lib/badge-kiosk/device-token.json"), description="For token_store = file.")
    credential_file: Path = Field(
        Path("/etc/badge-kiosk/device-token"),
        description="For token_store = systemd: the root-only file the unit's LoadCredential= reads.",
    )
    device_name: str = Field("", description="Name shown to admins; default: the host name.")
    welcome_seconds: float = Field(2.5, ge=0.5, le=10, description="How long the welcome screen shows.")
    idle_sign_out_seconds: int = Field(120, ge=15, description="Sign out after this long without a touch.")
    message_seconds: float = Field(4.0, ge=1, le=30, description="How long a 'not a badge' style message stays.")
    browser_command: list[str] = Field(
        default_factory=list,
        description="Command opening an app, URL appended, e.g. ['chromium', '--kiosk', "
        "'--user-data-dir={profile}']: {profile} becomes a fresh folder, deleted at sign-out; "
        "empty: the system browser.",
    )
    too_dark_level: int = Field(35, ge=0, le=255, description="Mean frame brightness below which we say 'too dark'.")
    fullscreen: bool = Field(True, description="Full screen (a kiosk); false for a window (testing).")
    chime: bool = Field(True, description="Play a chime on sign-in.")

    @field_validator("server_url")
    @classmethod
    def _safe_url(cls, value: str) -> str:
        try:
            return check_server_url(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None


def load_config(path: Path | None = None, **overrides: object) -> KioskConfig:
    """Read the config file (if any), apply command-line overrides, validate everything."""
    source = path or SYSTEM_CONFIG
    data: dict[str, object] = {}
    if source.exists():
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source}: not valid TOML ({exc})") from None
    elif path is not None:
        raise ConfigError(f"config file {path} does not exist")
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return KioskConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{source}: {problems}") from None


def save_server_url(path: Path, server_url: str) -> Path:
    """Set ``server_url`` in the config file (made if missing), keeping every other line and
    comment as IT wrote it; the result is validated before it replaces the file."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    setting = f"server_url = {json.dumps(server_url)}"
    table_starts = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
    for index, line in enumerate(lines[:table_starts]):
        if line.split("=", 1)[0].strip() == "server_url":
            lines[index] = setting
            break
    else:
        lines.insert(0, setting)  # top-level keys come before any [table]
    text = "\n".join(lines) + "\n"
    try:
        KioskConfig.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigError(f"{path}: cannot set server_url there ({exc}); set it by hand") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    if path.exists():
        partial.chmod(path.stat().st_mode & 0o777)
    partial.replace(path)
    return path
