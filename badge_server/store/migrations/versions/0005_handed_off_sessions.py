"""kiosk hand-off: a browser session remembers the kiosk session it was handed off from

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 07:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("student_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handed_off_from", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_student_sessions_handed_off_from"), ["handed_off_from"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_student_sessions_handed_off_from_student_sessions"),
            "student_sessions",
            ["handed_off_from"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("student_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_student_sessions_handed_off_from_student_sessions"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_student_sessions_handed_off_from"))
        batch_op.drop_column("handed_off_from")
