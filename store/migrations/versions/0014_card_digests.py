"""cards: a burst's cards wait in a digest (no ts yet); the channel routing named, to measure a burst

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 02:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("addressed", sa.String(length=100), server_default="", nullable=False))
        batch_op.add_column(sa.Column("digest_ts", sa.String(length=32), nullable=True))
        batch_op.alter_column("ts", existing_type=sa.VARCHAR(length=32), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.alter_column("ts", existing_type=sa.VARCHAR(length=32), nullable=False)
        batch_op.drop_column("digest_ts")
        batch_op.drop_column("addressed")
