"""Every error the kiosk raises on purpose, in one place."""

from __future__ import annotations


class KioskError(Exception):
    """Base class of the kiosk's own errors."""


class ConfigError(KioskError):
    """Raised when the kiosk's configuration is missing, invalid or unsafe (e.g. plain HTTP)."""


class NotEnrolled(KioskError):
    """Raised when no device token is stored: the device must be enrolled first."""


class ServerUnreachable(KioskError):
    """Raised when the server cannot be reached after the retries (network, DNS, TLS, 5xx)."""


class ServerRefused(KioskError):
    """Raised when the server answers with an error body; ``code`` is its machine code."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        super().__init__(f"{status} {code}: {message}")


class CameraError(KioskError):
    """Raised when the camera (or video file) cannot be opened."""
