"""staff second factor: the last TOTP time step used (no replay), wrong codes in a row and the
pause they earned; staff_users.school_id only for school admins; server_facts: a check value of
the server key (a lost key is named at start)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 23:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import badge_server.store.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_totp_step", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("wrong_codes", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("codes_paused_until", badge_server.store.models.UTCDateTime(), nullable=True))
    # An account's school comes from its role alone: only a school admin keeps a school of its own
    # (a teacher's is their roster record's). Rows made before kept both whatever the role.
    op.execute("UPDATE staff_users SET school_id = NULL WHERE role <> 'school_admin'")
    op.create_table(
        "server_facts",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_facts")),
    )


def downgrade() -> None:
    op.drop_table("server_facts")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("codes_paused_until")
        batch_op.drop_column("wrong_codes")
        batch_op.drop_column("last_totp_step")
