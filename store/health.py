"""Source health: what `hark status` and alerts read about each listener."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.models import SourceHealthRow


def _row(session: so.Session, source: str) -> SourceHealthRow:
    row = session.get(SourceHealthRow, source)
    if row is None:
        row = SourceHealthRow(
            source=source,
            healthy=True,
            stopped=False,
            consecutive_failures=0,
            items_fetched=0,
            updated_at=datetime.now(UTC),
        )
        session.add(row)
    return row


def record_success(
    session: so.Session,
    source: str,
    fetched: int,
    *,
    quota_remaining: int | None = None,
    quota_reset_at: datetime | None = None,
    next_poll_at: datetime | None = None,
) -> None:
    row = _row(session, source)
    now = datetime.now(UTC)
    row.healthy = True
    row.stopped = False
    row.last_success_at = now
    row.consecutive_failures = 0
    row.items_fetched += fetched
    if quota_remaining is not None:
        row.quota_remaining, row.quota_reset_at = quota_remaining, quota_reset_at
    row.next_poll_at = next_poll_at
    row.updated_at = now


def record_failure(
    session: so.Session, source: str, error: str, *, stopped: bool, next_poll_at: datetime | None = None
) -> None:
    """A transient failure keeps the source healthy until it repeats; a stop marks it unhealthy."""
    row = _row(session, source)
    now = datetime.now(UTC)
    row.consecutive_failures += 1
    row.last_error = error[:2000]
    row.last_error_at = now
    row.healthy = not stopped and row.consecutive_failures < 3
    row.stopped = stopped
    row.next_poll_at = None if stopped else next_poll_at
    row.updated_at = now


def health_by_source(session: so.Session) -> dict[str, SourceHealthRow]:
    """Every source's health row (a source never polled has none)."""
    return {row.source: row for row in session.scalars(sa.select(SourceHealthRow))}
