"""staff_invitations: single-use, expiring links where new staff set their own password

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 05:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import badge_server.store.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_invitations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("expires_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("used_at", badge_server.store.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_users.id"], name=op.f("fk_staff_invitations_staff_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_invitations")),
        sa.UniqueConstraint("digest", name=op.f("uq_staff_invitations_digest")),
    )
    op.create_index(op.f("ix_staff_invitations_staff_id"), "staff_invitations", ["staff_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_invitations_staff_id"), table_name="staff_invitations")
    op.drop_table("staff_invitations")
