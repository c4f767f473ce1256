"""x: a post X says has no language (its codes qme, qht, qam, qct, art) stores language NULL, as new ones do

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# a copy, not an import: a migration must keep meaning what it meant when it was written
X_NO_LANGUAGE = ("qme", "qht", "qam", "qct", "art")


def upgrade() -> None:
    mentions = sa.table("mentions", sa.column("platform", sa.String), sa.column("language", sa.String))
    op.execute(
        mentions.update()
        .where(mentions.c.platform == "x", sa.func.lower(mentions.c.language).in_(X_NO_LANGUAGE))
        .values(language=None)
    )


def downgrade() -> None:
    pass  # the codes said only "no language", which NULL says too
