"""sla_alerts: SLA reminders and breach alerts, once per due time; cases.resolution_due_at, sla_set_at

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 02:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sla_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_sla_alerts_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_alerts")),
        sa.UniqueConstraint("case_id", "kind", "due_at", name=op.f("uq_sla_alerts_case_id_kind_due_at")),
    )
    with op.batch_alter_table("sla_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sla_alerts_case_id"), ["case_id"], unique=False)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sla_set_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("sla_set_at")
        batch_op.drop_column("resolution_due_at")

    with op.batch_alter_table("sla_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_alerts_case_id"))

    op.drop_table("sla_alerts")
