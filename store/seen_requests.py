"""Slack interactions applied once: a replayed request, a Slack retry or a second delivery of one event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.inserts import insert_new
from store.models import SeenRequestRow

KEPT = timedelta(days=1)  # Slack refuses requests older than 5 minutes and retries for about an hour


def first_sight(session: so.Session, key: str) -> bool:
    """Record `key` in the caller's transaction; False when it was already recorded. Commit it with the
    change it guards, so a change that fails is not remembered as applied.

    """
    now = datetime.now(UTC)
    if not insert_new(session, SeenRequestRow, {"key": key[:200], "seen_at": now}, unique=["key"]):
        return False
    session.execute(sa.delete(SeenRequestRow).where(SeenRequestRow.seen_at < now - KEPT))
    return True
