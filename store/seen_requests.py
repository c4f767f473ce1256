"""Slack interactions applied once: a replayed request, a Slack retry or a second delivery of one event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from store.models import SeenRequestRow

KEPT = timedelta(days=1)  # Slack refuses requests older than 5 minutes and retries for about an hour


def first_sight(session: so.Session, key: str) -> bool:
    """Record `key` in the caller's transaction; False when it was already recorded. Commit it with the
    change it guards, so a change that fails is not remembered as applied.

    One INSERT ... ON CONFLICT DO NOTHING, not a savepoint: on SQLite, pysqlite opens a transaction only at
    the first write, so a savepoint that came first would open one of its own and commit the key at once.
    """
    now = datetime.now(UTC)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(SeenRequestRow)
        .values(key=key[:200], seen_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(SeenRequestRow.key)
    )
    if session.scalar(stmt) is None:
        return False
    session.execute(sa.delete(SeenRequestRow).where(SeenRequestRow.seen_at < now - KEPT))
    return True
