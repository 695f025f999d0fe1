"""SQLAlchemy models of signing in away from school and of people's own dashboards: student
passwords, the home sign-in policy of a district or school, and tile arrangements and class pins.

Nothing here holds a secret in clear: passwords are argon2 hashes; the password a teacher gave a
student is also kept encrypted with the server key (like a badge secret) so a letter home can be
printed again, and is forgotten once the student chooses their own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from badge_server.store.models import Base


class StudentPassword(Base):
    """A student's fallback password, for a device without a camera (and grade 6+ students' own)."""

    __tablename__ = "student_passwords"
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # The password a teacher (or a letter) gave, encrypted; None once the student chose their own.
    given_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    # A given password that must be replaced by the student's own at the next sign-in (grade 6+).
    must_choose: Mapped[bool] = mapped_column(Boolean, default=False)
    set_at: Mapped[datetime]
    set_by: Mapped[str] = mapped_column(String(255))  # a staff username, or "student"


class SignInPolicy(Base):
    """Badge and home sign-in policy for one district or school org. A school's row overrides its
    district's; a field left None inherits (the district's row, else the server's settings)."""

    __tablename__ = "sign_in_policies"
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    home_sign_in: Mapped[bool | None] = mapped_column(Boolean)
    # Grades whose students may sign in at home with a badge (OneRoster grade codes).
    home_grades: Mapped[list[str] | None] = mapped_column(JSON)
    # Grades whose students must also type their PIN at home.
    home_pin_grades: Mapped[list[str] | None] = mapped_column(JSON)
    # Badge policy (badge_policy.py): a new badge's lifetime, the grades that also type their PIN
    # at a school scanner, and how long a teacher's temporary code lasts.
    badge_expiry_days: Mapped[int | None] = mapped_column(Integer)
    pin_grades: Mapped[list[str] | None] = mapped_column(JSON)
    temp_code_hours: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(255))


class TileArrangement(Base):
    """The order a person put their dashboard tiles in, and the tiles they hid (app ids)."""

    __tablename__ = "tile_arrangements"
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    order: Mapped[list[str]] = mapped_column(JSON, default=list)
    hidden: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]


class ClassPin(Base):
    """An app a teacher put at the front of every dashboard in a class ("today we use Starfall")."""

    __tablename__ = "class_pins"
    __table_args__ = (UniqueConstraint("class_id", "app_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    class_id: Mapped[str] = mapped_column(ForeignKey("classes.id"), index=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id"))
    pinned_by: Mapped[str] = mapped_column(String(255))
    pinned_at: Mapped[datetime]
    # None: until a teacher unpins it. Else the end of the day it was pinned for.
    until: Mapped[datetime | None]


class StaffInvitation(Base):
    """A single-use, expiring link where a new staff member sets their own password. Only the
    SHA-256 of the link's secret is kept."""

    __tablename__ = "staff_invitations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
