"""mention_vectors: each classified mention's sentence embedding, for suggesting the team's earlier replies

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 15:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mention_vectors",
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mention_id"], ["mentions.id"], name=op.f("fk_mention_vectors_mention_id_mentions")
        ),
        sa.PrimaryKeyConstraint("mention_id", name=op.f("pk_mention_vectors")),
    )
    with op.batch_alter_table("mention_vectors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mention_vectors_model_version"), ["model_version"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mention_vectors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mention_vectors_model_version"))
    op.drop_table("mention_vectors")
