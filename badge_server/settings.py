"""Server settings: environment variables prefixed ``BADGE_`` or a ``.env`` file.

One ``Settings`` object is built at start-up (``Settings()``) and handed to the app
factory and the commands; tests build their own and inject it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: OneRoster grade codes that get badges unless the district says otherwise (PreK to grade 5).
DEFAULT_BADGE_GRADES = ("PK", "TK", "KG", "01", "02", "03", "04", "05")

CommaList = Annotated[tuple[str, ...], NoDecode]


class Settings(BaseSettings):
    """Everything the server reads from its environment, with safe defaults."""

    model_config = SettingsConfigDict(env_prefix="BADGE_", env_file=".env", extra="ignore")

    env: Literal["production", "development"] = Field(
        "production", description="'development' allows a generated secret key; demo sets it."
    )
    data_dir: Path = Field(Path("badge-data"), description="Embedded database, keys and generated files.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite under data_dir.")
    secret_key: SecretStr | None = Field(None, description="Server key (prefer secret_key_file).")
    secret_key_file: Path | None = Field(None, description="File holding the server key; default data_dir.")
    public_url: str | None = Field(None, description="Base URL for launch links; default: request URL.")
    district_name: str = "Demo District"
    timezone: str = Field(
        "UTC",
        description="The district's time zone (IANA name, e.g. America/Chicago): what 'today' means to a "
        "teacher, and the times staff see.",
    )

    badge_grades: CommaList = Field(DEFAULT_BADGE_GRADES, description="Grades whose students get badges.")
    badge_expiry_days: int = Field(365, ge=1, le=3650)
    badge_expiry_warning_days: int = Field(30, ge=0, le=365)
    pin_required_grades: CommaList = Field((), description="Grades whose badges also need a PIN.")
    pin_tries_per_badge_per_day: int = Field(
        30,
        ge=5,
        description="Badge + PIN tries a day per badge (right or wrong); then 'ask your teacher' until tomorrow.",
    )
    roster_max_deactivation_share: float = Field(
        0.10,
        ge=0,
        le=1,
        description="An import deactivating more of a school's active students than this is refused unless confirmed.",
    )
    retain_audit_days: int = Field(
        400, ge=30, description="Audit events older than this are purged nightly (badge-server purge)."
    )
    retain_codes_days: int = Field(
        7, ge=1, description="Launch, enrolment, sign-in and hand-off codes are purged this long after they expire."
    )
    # At least 7: a teacher's "not signed in for a week" list reads the sessions.
    retain_sessions_days: int = Field(
        30, ge=7, description="Student and staff sessions are purged this long after they end or expire."
    )
    temp_code_default_hours: float = Field(4, gt=0, le=12)
    temp_code_max_hours: float = Field(12, gt=0, le=12)

    enroll_code_minutes: int = Field(30, ge=1, le=7 * 24 * 60)
    launch_code_seconds: int = Field(60, ge=5, le=60)
    kiosk_session_idle_seconds: int = Field(300, ge=30)
    kiosk_session_max_seconds: int = Field(3600, ge=60)
    browser_session_idle_seconds: int = Field(1800, ge=60)
    browser_session_max_seconds: int = Field(8 * 3600, ge=60)
    dashboard_idle_seconds: int = Field(
        120, ge=15, description="The web dashboard signs a student out after this long untouched."
    )
    oidc_code_seconds: int = Field(60, ge=10, le=600, description="An OIDC authorization code lives this long.")
    oidc_token_seconds: int = Field(600, ge=60, le=24 * 3600, description="ID and access tokens live this long.")
    signing_key_publish_hours: float = Field(
        24, ge=0, le=24 * 30, description="A rotated signing key is published this long before it signs."
    )
    sso_pending_seconds: int = Field(600, ge=60, le=3600, description="An app's sign-in waits this long for a scan.")
    saml_response_seconds: int = Field(300, ge=60, le=3600, description="A SAML assertion's NotOnOrAfter.")
    handoff_code_seconds: int = Field(
        10, ge=2, le=60, description="A kiosk tile's browser hand-off code lives this long."
    )
    home_sign_in: bool = Field(
        True, description="District default: badges sign in on never-enrolled family devices (schools may override)."
    )
    home_grades: CommaList = Field(DEFAULT_BADGE_GRADES, description="Grades whose badges work at home.")
    home_pin_grades: CommaList = Field((), description="Grades whose students also type their PIN at home.")
    home_session_idle_seconds: int = Field(900, ge=60, description="A home sign-in ends after this long idle.")
    home_session_max_seconds: int = Field(2 * 3600, ge=300, description="A home sign-in lasts at most this long.")
    rate_home_per_badge_per_minute: int = Field(5, ge=1, description="Home scans of one badge a minute.")
    rate_home_per_address_per_minute: int = Field(
        30, ge=1, description="Home scans and password sign-ins from one address a minute (a household, not a school)."
    )
    student_chooses_password_grades: CommaList = Field(
        ("06", "07", "08", "09", "10", "11", "12"),
        description="Grades whose students replace a teacher's password with their own at the first sign-in.",
    )
    rate_password_per_student_per_minute: int = Field(
        5, ge=1, description="Password attempts at one username a minute (no permanent lock-out)."
    )
    password_checks_at_once: int = Field(
        2, ge=1, description="Per server process: argon2 checks running at once; more wait their turn."
    )
    teacher_mfa_required: bool = Field(False, description="Teachers must set up TOTP too (admins always must).")

    staff_oidc_issuer: str | None = Field(
        None,
        description="Staff sign in with the district's own accounts: the OpenID Connect issuer, e.g. "
        "https://accounts.google.com or https://login.microsoftonline.com/<tenant id>/v2.0 (unset: passwords only).",
    )
    staff_oidc_client_id: str | None = Field(None, description="This server's client id at that issuer.")
    staff_oidc_client_secret: SecretStr | None = Field(None, description="Its client secret (prefer the _file).")
    staff_oidc_client_secret_file: Path | None = Field(None, description="A file holding the client secret.")
    staff_oidc_label: str | None = Field(
        None, description="The button says 'Sign in with <label>' (default: Google, Microsoft or the issuer's host)."
    )
    staff_oidc_email_domains: CommaList = Field(
        (), description="The district's email domains; an account outside them is refused (required with an issuer)."
    )
    staff_oidc_email_claim: Literal["email", "preferred_username", "upn"] = Field(
        "email",
        description="The ID token claim holding the staff member's email: 'email' (Google; needs email_verified) "
        "or 'preferred_username' (Microsoft Entra: the user principal name, in a domain the tenant verified).",
    )
    staff_oidc_trusts_mfa: bool = Field(
        False,
        description="The district's identity provider already requires a second factor for this app: a sign-in "
        "through it counts as both factors, so no TOTP code is asked here.",
    )
    rate_staff_login_per_address_per_minute: int = Field(
        30,
        ge=1,
        description="Staff password tries from one address a minute, whatever the username: a flood of "
        "made-up usernames is throttled, not verified (a school behind one address: raise it).",
    )
    rate_staff_login_per_user_per_minute: int = Field(
        10, ge=1, description="Staff password tries a minute per address and username."
    )
    rate_per_badge_per_minute: int = Field(20, ge=1)
    rate_per_address_per_minute: int = Field(
        300,
        ge=1,
        description="Requests a minute from one address without a valid device token (enrolled devices are "
        "counted per device); a whole school may share one address: size it for the busiest.",
    )
    rate_per_device_per_minute: int = Field(120, ge=1)
    max_badge_text_chars: int = Field(256, ge=64, le=4096)
    max_requests_in_flight: int = Field(
        32, ge=1, description="Per server process; past it, requests get 503 + Retry-After at once (load shedding)."
    )

    metrics_token: SecretStr | None = Field(
        None, description="Bearer token Prometheus sends to GET /metrics (prefer the _file); unset: no /metrics."
    )
    metrics_token_file: Path | None = Field(None, description="A file holding the metrics token.")
    log_format: Literal["json", "text"] = Field(
        "json", description="badge-server serve logs one JSON line per request (journald), or plain text."
    )

    @field_validator(
        "badge_grades",
        "pin_required_grades",
        "home_grades",
        "home_pin_grades",
        "student_chooses_password_grades",
        "staff_oidc_email_domains",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone name such as America/Chicago or Europe/Madrid") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @model_validator(mode="after")
    def _temp_code_bounds(self) -> Settings:
        if self.temp_code_default_hours > self.temp_code_max_hours:
            raise ValueError("temp_code_default_hours must not exceed temp_code_max_hours")
        return self

    @model_validator(mode="after")
    def _staff_oidc_complete(self) -> Settings:
        if self.staff_oidc_issuer is None:
            return self
        secret = self.staff_oidc_client_secret or self.staff_oidc_client_secret_file
        needed = (
            ("BADGE_STAFF_OIDC_CLIENT_ID", self.staff_oidc_client_id),
            ("BADGE_STAFF_OIDC_CLIENT_SECRET or _FILE", secret),
            ("BADGE_STAFF_OIDC_EMAIL_DOMAINS", self.staff_oidc_email_domains),
        )
        missing = [name for name, value in needed if not value]
        if missing:
            raise ValueError(f"BADGE_STAFF_OIDC_ISSUER is set, so {', '.join(missing)} must be too")
        parts = urlsplit(self.staff_oidc_issuer)
        loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError(f"BADGE_STAFF_OIDC_ISSUER {self.staff_oidc_issuer!r} must use https")
        self.staff_oidc_email_domains = tuple(domain.lower().lstrip("@") for domain in self.staff_oidc_email_domains)
        return self

    @property
    def metrics_bearer(self) -> str | None:
        """The metrics token, from the setting or its file (read when the app is built)."""
        if self.metrics_token is not None:
            return self.metrics_token.get_secret_value()
        if self.metrics_token_file is not None:
            return self.metrics_token_file.read_text().strip() or None
        return None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'badge.db').resolve()}"

    @property
    def effective_secret_key_file(self) -> Path:
        return self.secret_key_file or self.data_dir / "secret.key"

    @property
    def is_development(self) -> bool:
        return self.env == "development"
