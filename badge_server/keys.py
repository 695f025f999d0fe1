"""The server key and what is derived from it.

One random master key (a file under the data directory, 0600) yields, by HKDF, a key for
digests of badge secrets and a key that encrypts badge secrets at rest so a teacher can
reprint a badge. A stolen database alone therefore neither reveals nor matches badges.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from badge_server.errors import ConfigError
from badge_server.settings import Settings

MASTER_KEY_BYTES = 32
# Values people paste from tutorials; refused in production even if long enough.
_KNOWN_WEAK = {"changeme", "change-me", "secret", "development", "dev", "test", "password"}


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


@dataclass(frozen=True)
class ServerKeys:
    """Keys derived from the master key; build with :func:`load_keys`."""

    digest_key: bytes
    fernet: Fernet

    @classmethod
    def from_master(cls, master: bytes) -> ServerKeys:
        return cls(
            digest_key=_derive(master, b"badge-login digest v1"),
            fernet=Fernet(base64.urlsafe_b64encode(_derive(master, b"badge-login at-rest v1"))),
        )

    def secret_digest(self, secret: str) -> str:
        """Keyed digest of a badge or code secret, the only form stored for look-up."""
        return hmac.new(self.digest_key, secret.encode("ascii"), hashlib.sha256).hexdigest()

    def check_value(self) -> str:
        """Names this key (badge_server/key_check.py) without revealing it."""
        return hmac.new(self.digest_key, b"badge-login key check v1", hashlib.sha256).hexdigest()[:16]

    def encrypt(self, text: str) -> bytes:
        return self.fernet.encrypt(text.encode("utf-8"))

    def open_sealed(self, token: bytes) -> str | None:
        """Text this server sealed with :meth:`encrypt`, or ``None`` for anything else (a token a
        browser sent back may be forged, cut short or from before a key change)."""
        try:
            return self.fernet.decrypt(token).decode("utf-8")
        except (InvalidToken, UnicodeDecodeError):
            return None

    def decrypt(self, token: bytes) -> str:
        try:
            return self.fernet.decrypt(token).decode("utf-8")
        except InvalidToken as exc:
            raise ConfigError(
                "a stored badge secret cannot be decrypted: the server key is not the one the "
                "badges were issued with (was secret.key replaced?)"
            ) from exc


def token_digest(token: str) -> str:
    """Digest of a high-entropy bearer token (device, session, launch, enrolment code).

    These tokens carry 128+ random bits, so a plain SHA-256 is enough: nothing to brute-force.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def write_new_key_file(path: Path) -> None:
    """Create a new random master key file readable by its owner only; never overwrite one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.urlsafe_b64encode(secrets.token_bytes(MASTER_KEY_BYTES)).decode() + "\n")


def master_from_text(text: str, source: str) -> bytes:
    text = text.strip()
    if text.lower() in _KNOWN_WEAK:
        raise ConfigError(f"the server key from {source} is a well-known default; make a real one")
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) < MASTER_KEY_BYTES:
        raise ConfigError(f"the server key from {source} is not a base64 string of at least {MASTER_KEY_BYTES} bytes")
    return raw


def load_keys(settings: Settings) -> ServerKeys:
    """Load the master key, or refuse with how to make one.

    In development (``badge-server demo``) a missing key file is created; in production a
    missing or weak key stops the server, because every badge would be forgeable with a
    default key.
    """
    if settings.secret_key is not None:
        return ServerKeys.from_master(master_from_text(settings.secret_key.get_secret_value(), "BADGE_SECRET_KEY"))
    path = settings.effective_secret_key_file
    if not path.exists():
        if not settings.is_development:
            raise ConfigError(
                f"no server key at {path}. Create one with `badge-server init` "
                "(or set BADGE_SECRET_KEY_FILE to an existing key file)."
            )
        write_new_key_file(path)
    return ServerKeys.from_master(master_from_text(path.read_text(encoding="ascii"), str(path)))
