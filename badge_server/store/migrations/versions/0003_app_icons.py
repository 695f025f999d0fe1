"""app icons uploaded in the admin console; the software each device last reported

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import badge_server.store.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_icons",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_app_icons_app_id_apps")),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_app_icons")),
    )
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("software", sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("software")
    op.drop_table("app_icons")
