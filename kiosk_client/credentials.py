"""Where the device token lives: never in the (world-readable) config file.

``file`` (default): a keyring backend storing a JSON file readable by its owner only (0600, in a
0700 folder), written atomically; the kiosk package makes it root- or kiosk-service-owned.
``systemd`` (the Debian package): a root-only file that the service unit hands the kiosk as a
credential (``LoadCredential=``), read from ``$CREDENTIALS_DIRECTORY/device-token``.
``keyring``: the desktop keyring ``keyring`` finds (Secret Service, KWallet), for kiosks that have one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from kiosk_client.errors import ConfigError, NotEnrolled

SERVICE = "badge-kiosk"
USERNAME = "device-token"


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` readable by its owner only (0600), atomically: never a
    half-written token file."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".token-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class FileKeyring(KeyringBackend):
    """A keyring in one private file; works with no desktop session (a boot-time kiosk)."""

    priority = 1

    def __init__(self, path: Path) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.path = path

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data: dict[str, dict[str, str]] = json.loads(self.path.read_text(encoding="utf-8"))
            return data
        except FileNotFoundError:
            return {}

    def _write(self, data: dict[str, dict[str, str]]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(self.path, json.dumps(data))

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._read()
        data.setdefault(service, {})[username] = password
        self._write(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._read()
        if username not in data.get(service, {}):
            raise PasswordDeleteError("no device token stored")
        del data[service][username]
        self._write(data)


class SystemdCredential(KeyringBackend):
    """The token as a systemd credential: the service reads ``$CREDENTIALS_DIRECTORY/device-token``
    (``LoadCredential=device-token:<source>``); the source is a root-only file (0600) that
    ``badge-kiosk enroll`` writes as root and that the kiosk's own user cannot read at all."""

    priority = 1

    def __init__(self, source: Path) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.source = source

    def get_password(self, service: str, username: str) -> str | None:
        folder = os.environ.get("CREDENTIALS_DIRECTORY")
        path = Path(folder) / username if folder else self.source  # outside the service: root's check
        try:
            return path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None
        except PermissionError:
            raise ConfigError(f"{path} is readable by root only: run this command with sudo") from None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.source.parent.mkdir(parents=True, exist_ok=True)
        _write_private(self.source, password + "\n")

    def delete_password(self, service: str, username: str) -> None:
        try:
            self.source.unlink()
        except FileNotFoundError:
            raise PasswordDeleteError("no device token") from None


def backend_for(
    store: str, token_file: Path, credential_file: Path = Path("/etc/badge-kiosk/device-token")
) -> KeyringBackend:
    if store == "file":
        return FileKeyring(token_file)
    if store == "systemd":
        return SystemdCredential(credential_file)
    if store == "keyring":
        return keyring.get_keyring()
    raise ConfigError(f"token_store {store!r} is not one of file, systemd, keyring")


def save_token(backend: KeyringBackend, token: str) -> None:
    backend.set_password(SERVICE, USERNAME, token)


def load_token(backend: KeyringBackend) -> str:
    token = backend.get_password(SERVICE, USERNAME)
    if not token:
        raise NotEnrolled("this device is not enrolled: run `badge-kiosk enroll --server URL --code CODE` as admin")
    return token
