"""home sign-in (sign_in_policies, apps.home_allowed, sessions without a device or badge, their
method), student passwords, people.identifier and language, tile arrangements and class pins

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 11:28:45.038220
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import badge_server.store.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "class_pins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("class_id", sa.String(length=255), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("pinned_by", sa.String(length=255), nullable=False),
        sa.Column("pinned_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("until", badge_server.store.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_class_pins_app_id_apps")),
        sa.ForeignKeyConstraint(["class_id"], ["classes.id"], name=op.f("fk_class_pins_class_id_classes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class_pins")),
        sa.UniqueConstraint("class_id", "app_id", name=op.f("uq_class_pins_class_id")),
    )
    with op.batch_alter_table("class_pins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_class_pins_class_id"), ["class_id"], unique=False)

    op.create_table(
        "sign_in_policies",
        sa.Column("org_id", sa.String(length=255), nullable=False),
        sa.Column("home_sign_in", sa.Boolean(), nullable=True),
        sa.Column("home_grades", sa.JSON(), nullable=True),
        sa.Column("home_pin_grades", sa.JSON(), nullable=True),
        sa.Column("updated_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_sign_in_policies_org_id_orgs")),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_sign_in_policies")),
    )
    op.create_table(
        "student_passwords",
        sa.Column("person_id", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("given_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("must_choose", sa.Boolean(), nullable=False),
        sa.Column("set_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("set_by", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_student_passwords_person_id_people")),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_student_passwords")),
    )
    op.create_table(
        "tile_arrangements",
        sa.Column("person_id", sa.String(length=255), nullable=False),
        sa.Column("order", sa.JSON(), nullable=False),
        sa.Column("hidden", sa.JSON(), nullable=False),
        sa.Column("updated_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_tile_arrangements_person_id_people")),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_tile_arrangements")),
    )
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("home_allowed", sa.Boolean(), nullable=False, server_default=sa.true()))

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identifier", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_people_identifier"), ["identifier"], unique=False)

    with op.batch_alter_table("student_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("method", sa.String(length=16), nullable=False, server_default="badge"))
        batch_op.alter_column("badge_id", existing_type=sa.VARCHAR(length=32), nullable=True)
        batch_op.alter_column("device_id", existing_type=sa.VARCHAR(length=32), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("student_sessions", schema=None) as batch_op:
        batch_op.alter_column("device_id", existing_type=sa.VARCHAR(length=32), nullable=False)
        batch_op.alter_column("badge_id", existing_type=sa.VARCHAR(length=32), nullable=False)
        batch_op.drop_column("method")

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_identifier"))
        batch_op.drop_column("language")
        batch_op.drop_column("identifier")

    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.drop_column("home_allowed")

    op.drop_table("tile_arrangements")
    op.drop_table("student_passwords")
    op.drop_table("sign_in_policies")
    with op.batch_alter_table("class_pins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_class_pins_class_id"))

    op.drop_table("class_pins")
