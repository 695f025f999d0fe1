"""SQLAlchemy models. Secrets never appear here in clear: only digests and encrypted blobs."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite would otherwise hand back naive ones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use badge_server.clock.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


_EAST_ASIAN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


AVATAR_COLORS = ("#d1495b", "#a86b00", "#00798c", "#30638e", "#6a4c93", "#23857a", "#c4502f", "#3d405b")


def new_id() -> str:
    return uuid.uuid4().hex


class RosterRole(StrEnum):
    """A person's role in the roster (OneRoster ``users.csv`` ``role``)."""

    ADMINISTRATOR = "administrator"
    AIDE = "aide"
    GUARDIAN = "guardian"
    PARENT = "parent"
    PROCTOR = "proctor"
    RELATIVE = "relative"
    STUDENT = "student"
    TEACHER = "teacher"


# The roles a person can have in a class (OneRoster ``enrollments.csv`` ``role``).
ENROLLMENT_ROLES = frozenset(
    {RosterRole.ADMINISTRATOR, RosterRole.AIDE, RosterRole.PROCTOR, RosterRole.STUDENT, RosterRole.TEACHER}
)


class StaffRole(StrEnum):
    """What a console account may see: a teacher their classes, a school admin their school, a district admin all."""

    TEACHER = "teacher"
    SCHOOL_ADMIN = "school_admin"
    DISTRICT_ADMIN = "district_admin"


class BadgeStatus(StrEnum):
    """Where a badge is in its life: only an active one signs anyone in."""

    ACTIVE = "active"
    REPLACED = "replaced"
    REVOKED = "revoked"
    VOIDED = "voided"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # Typed as the Table it is, for Core statements on hot paths (audit rows, launch codes).
    __table__: ClassVar[Table]
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Org(Base):
    """A district or school from the roster (OneRoster orgs.csv)."""

    __tablename__ = "orgs"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # OneRoster sourcedId
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    identifier: Mapped[str | None] = mapped_column(String(255))
    parent_id: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AcademicSession(Base):
    """A term or school year (OneRoster academicSessions.csv)."""

    __tablename__ = "academic_sessions"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[str] = mapped_column(String(10))
    end_date: Mapped[str] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Course(Base):
    """A course (OneRoster courses.csv)."""

    __tablename__ = "courses"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    org_id: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Person(Base):
    """A student or staff member (OneRoster users.csv). Deactivated when the roster drops them;
    deleted only by ``badge-server purge-people`` (retention.py) once they left long enough ago."""

    __tablename__ = "people"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), index=True)
    username: Mapped[str] = mapped_column(String(255))
    given_name: Mapped[str] = mapped_column(String(255))
    family_name: Mapped[str] = mapped_column(String(255))
    preferred_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    grade: Mapped[str | None] = mapped_column(String(16))
    school_id: Mapped[str | None] = mapped_column(String(255), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    # The student number (OneRoster users.csv ``identifier``): a username for password sign-in.
    identifier: Mapped[str | None] = mapped_column(String(255), index=True)
    # The family's language (BCP 47, e.g. "es") where the roster has one: letters home use it.
    language: Mapped[str | None] = mapped_column(String(16))
    # When the roster last deactivated them: what "left before" in purge-people means.
    deactivated_at: Mapped[datetime | None]

    @property
    def first_name(self) -> str:
        return self.preferred_name or self.given_name

    @property
    def avatar_color(self) -> str:
        """The student's colour: the kiosk's welcome avatar and the printed badge symbol agree."""
        return AVATAR_COLORS[int(hashlib.sha256(self.id.encode()).hexdigest(), 16) % len(AVATAR_COLORS)]

    @property
    def _east_asian(self) -> bool:
        return bool(_EAST_ASIAN.match(self.family_name or "")) and bool(_EAST_ASIAN.match(self.first_name or ""))

    @property
    def display_name(self) -> str:
        # Chinese, Japanese and Korean names are written family name first, without a space.
        if self._east_asian:
            return f"{self.family_name}{self.first_name}"
        return f"{self.first_name} {self.family_name}".strip()

    @property
    def initials(self) -> str:
        if self._east_asian:
            return self.first_name[:1]
        parts = [self.first_name, self.family_name]
        return "".join(p[0] for p in parts if p).upper()


class SchoolClass(Base):
    """A class section (OneRoster classes.csv)."""

    __tablename__ = "classes"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    school_id: Mapped[str] = mapped_column(String(255), index=True)
    course_id: Mapped[str | None] = mapped_column(String(255))
    grades: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Enrollment(Base):
    """A person in a class as student or teacher (OneRoster enrollments.csv)."""

    __tablename__ = "enrollments"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    class_id: Mapped[str] = mapped_column(String(255), index=True)
    person_id: Mapped[str] = mapped_column(String(255), index=True)
    role: Mapped[str] = mapped_column(String(32))
    primary: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Badge(Base):
    """One credential a student can show: a printed badge generation or a temporary code."""

    __tablename__ = "badges"
    __table_args__ = (Index("ix_badges_person_kind_status", "person_id", "kind", "status"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(1))  # contract.payload.BadgeKind
    generation: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # BadgeStatus
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    reference: Mapped[str] = mapped_column(String(16))  # printed; not the secret
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    printed_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    person: Mapped[Person] = relationship(lazy="joined")


class EnrollCode(Base):
    """A short-lived, single-use code an admin gives IT to enrol one device."""

    __tablename__ = "enroll_codes"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(255))


class Device(Base):
    """An enrolled kiosk or browser scanner."""

    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    school_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    enrolled_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    software: Mapped[str | None] = mapped_column(String(120))  # last User-Agent: kiosk version or browser


class LaunchCode(Base):
    """A one-time code (<= 60 s) from an exchange, redeemable once, by the same device."""

    __tablename__ = "launch_codes"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    badge_id: Mapped[str] = mapped_column(ForeignKey("badges.id"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SignInMethod(StrEnum):
    """How an identity session began."""

    BADGE = "badge"
    PASSWORD = "password"  # noqa: S105  (a method name) username + password: no camera, or grade 6+
    STAFF = "staff"  # a staff member's dashboard, opened from their console session


class StudentSession(Base):
    """A signed-in person's identity session: a student on a kiosk (token), in a school browser or at
    home (cookie), or a staff member's app dashboard. ``client`` is kiosk | browser | home | staff.
    """

    __tablename__ = "student_sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    # None for a password or staff sign-in; the badge's replace or revoke ends its sessions.
    badge_id: Mapped[str | None] = mapped_column(ForeignKey("badges.id"), index=True)
    # None at home (an unenrolled family device) and for password and staff sign-ins elsewhere.
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"))
    client: Mapped[str] = mapped_column(String(16))  # kiosk | browser | home | staff
    method: Mapped[str] = mapped_column(String(16), default=SignInMethod.BADGE)  # SignInMethod
    created_at: Mapped[datetime] = mapped_column(index=True)  # a teacher's day reads sessions by it
    last_seen_at: Mapped[datetime]
    idle_seconds: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    # A browser session a kiosk tile handed off (sso.handoff): it ends when this kiosk session ends.
    handed_off_from: Mapped[str | None] = mapped_column(ForeignKey("student_sessions.id"), index=True)
    person: Mapped[Person] = relationship(lazy="joined")


class App(Base):
    """A tile on the student dashboard, and who sees it (empty list = everyone)."""

    __tablename__ = "apps"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    launch_url: Mapped[str] = mapped_column(String(2048))
    icon: Mapped[str | None] = mapped_column(String(2048))
    color: Mapped[str] = mapped_column(String(16), default="#3566c8")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    grades: Mapped[list[str]] = mapped_column(JSON, default=list)
    school_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A tile of an SSO app starts the app's sign-in instead of opening launch_url cold:
    # sso_protocol "oidc" or "saml" (store.sso_models.SsoProtocol), sso_ref the client or SP id.
    sso_protocol: Mapped[str | None] = mapped_column(String(8))
    sso_ref: Mapped[str | None] = mapped_column(String(64))
    # Shown on a session that began at home (an unenrolled device); a district may keep some apps
    # for school only.
    home_allowed: Mapped[bool] = mapped_column(Boolean, default=True)


class AppIcon(Base):
    """An app tile's uploaded icon, kept in the database so every server process can serve it."""

    __tablename__ = "app_icons"
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime]


class RateCounter(Base):
    """Fixed-window attempt counters, in the database so every server process shares them."""

    __tablename__ = "rate_counters"
    __table_args__ = (UniqueConstraint("key", "window_start"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(128))
    window_start: Mapped[int] = mapped_column(Integer)  # unix minute
    count: Mapped[int] = mapped_column(Integer, default=0)


class AuditEvent(Base):
    """Who did what, when, from which device. Never holds a secret, token or payload."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(48), index=True)
    outcome: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str | None] = mapped_column(String(255))
    person_id: Mapped[str | None] = mapped_column(String(255), index=True)
    badge_id: Mapped[str | None] = mapped_column(String(32), index=True)
    device_id: Mapped[str | None] = mapped_column(String(32), index=True)
    source_ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ImportRun(Base):
    """The report of a roster import, kept for the admin console."""

    __tablename__ = "import_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(Text)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RosterImportJob(Base):
    """A roster import started from the console: where it is, for the page that watches it, and
    how it ended (the report, the problems or the refusal)."""

    __tablename__ = "roster_import_jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    started_by: Mapped[str] = mapped_column(String(255))  # the staff account, by username
    started_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(Text)
    preview: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))  # running, done, problems, refused, failed
    step: Mapped[str] = mapped_column(String(64), default="")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class StaffUser(Base):
    """A teacher or admin who signs in to the web console (never with a badge)."""

    __tablename__ = "staff_users"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))  # StaffRole
    person_id: Mapped[str | None] = mapped_column(String(255))  # the roster teacher, for teachers
    school_id: Mapped[str | None] = mapped_column(String(255))  # for school admins
    totp_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    recovery_code_digests: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_totp_step: Mapped[int | None] = mapped_column(BigInteger)  # a code's time step is used once
    wrong_codes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # in a row
    codes_paused_until: Mapped[datetime | None]  # after too many wrong codes; grows each time
    disabled_at: Mapped[datetime | None]  # what "left before" in purge-people means for an account


class ServerFact(Base):
    """A fact about this installation the server checks at start (e.g. the key's check value)."""

    __tablename__ = "server_facts"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class StaffSession(Base):
    """A signed-in staff member's browser session; ``mfa_done`` once the second factor passed."""

    __tablename__ = "staff_sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    mfa_done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    staff: Mapped[StaffUser] = relationship(lazy="joined")
