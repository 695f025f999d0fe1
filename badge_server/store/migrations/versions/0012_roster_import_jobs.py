"""roster_import_jobs: a console import runs after the answer, and its page shows how far it got

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import badge_server.store.models

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_import_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("started_by", sa.String(length=255), nullable=False),
        sa.Column("started_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("preview", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("finished_at", badge_server.store.models.UTCDateTime(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_import_jobs")),
    )
    op.create_index(op.f("ix_roster_import_jobs_started_at"), "roster_import_jobs", ["started_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_roster_import_jobs_started_at"), table_name="roster_import_jobs")
    op.drop_table("roster_import_jobs")
