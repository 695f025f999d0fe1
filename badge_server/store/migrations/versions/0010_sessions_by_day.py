"""student_sessions.created_at indexed: the teachers' day view reads today's and this week's sessions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 04:20:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_student_sessions_created_at"), "student_sessions", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_student_sessions_created_at"), table_name="student_sessions")
