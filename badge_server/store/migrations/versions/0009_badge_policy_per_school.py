"""sign_in_policies: a school's (or district's) badge policy: badge lifetime, PIN grades at
school scanners, temporary code hours; None inherits, as the home sign-in fields do

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 04:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sign_in_policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("badge_expiry_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pin_grades", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("temp_code_hours", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sign_in_policies", schema=None) as batch_op:
        batch_op.drop_column("temp_code_hours")
        batch_op.drop_column("pin_grades")
        batch_op.drop_column("badge_expiry_days")
