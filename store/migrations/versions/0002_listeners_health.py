"""listeners: compound cursors as text; stop flag, rate-limit quota and next poll in source health

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("source_cursors", schema=None) as batch_op:
        batch_op.alter_column(
            "cursor", existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=True
        )
    with op.batch_alter_table("source_health", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stopped", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("quota_remaining", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quota_reset_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_health", schema=None) as batch_op:
        batch_op.drop_column("next_poll_at")
        batch_op.drop_column("quota_reset_at")
        batch_op.drop_column("quota_remaining")
        batch_op.drop_column("stopped")
    with op.batch_alter_table("source_cursors", schema=None) as batch_op:
        batch_op.alter_column(
            "cursor", existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=True
        )
