"""people.deactivated_at and staff_users.disabled_at: when someone left, for purge-people

Rows already inactive get the time of this upgrade: when they really left is not known, and a
later date only keeps them longer, never purges them early.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 04:10:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from badge_server.store.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table, column in (("people", "deactivated_at"), ("staff_users", "disabled_at")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, UTCDateTime(), nullable=True))
        rows = sa.table(table, sa.column("active", sa.Boolean()), sa.column(column, UTCDateTime()))
        op.execute(rows.update().where(rows.c.active.is_(False)).values({column: datetime.now(UTC)}))


def downgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("deactivated_at")
