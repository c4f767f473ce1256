"""Counts per stage and source health, for `hark status`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.alerts import recent_alerts
from store.health import health_by_source
from store.models import CaseRow, CustomerRow, MentionRow, ReplyRow
from store.switches import replies_paused


def _count(session: so.Session, stmt: sa.Select[Any]) -> int:
    return int(session.scalar(stmt) or 0)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def pipeline_status(session: so.Session, source_names: Sequence[str]) -> dict[str, Any]:
    """Every configured source appears, polled or not; dropped sources still show their history."""
    count = sa.select(sa.func.count())
    mentions = count.select_from(MentionRow)
    health = health_by_source(session)
    sources = []
    for name in list(source_names) + sorted(set(health) - set(source_names)):
        row = health.get(name)
        sources.append(
            {
                "name": name,
                "configured": name in source_names,
                "healthy": row.healthy if row else True,
                "last_success_at": row.last_success_at.isoformat() if row and row.last_success_at else None,
                "last_error": row.last_error if row else None,
                "consecutive_failures": row.consecutive_failures if row else 0,
                "items_fetched": row.items_fetched if row else 0,
                "stopped": row.stopped if row else False,
                "last_error_at": _iso(row.last_error_at if row else None),
                "quota_remaining": row.quota_remaining if row else None,
                "quota_reset_at": _iso(row.quota_reset_at if row else None),
                "next_poll_at": _iso(row.next_poll_at if row else None),
            }
        )
    return {
        "mentions": _count(session, mentions),
        "classified": _count(session, mentions.where(MentionRow.classified_at.is_not(None))),
        "linked": _count(session, mentions.where(MentionRow.linked_at.is_not(None))),
        "routed": _count(session, mentions.where(MentionRow.routed_at.is_not(None))),
        "customers": _count(
            session, count.select_from(CustomerRow).where(CustomerRow.forgotten_at.is_(None))
        ),
        "cases_open": _count(session, count.select_from(CaseRow).where(CaseRow.status != "resolved")),
        "replies_sent": _count(session, count.select_from(ReplyRow).where(ReplyRow.status == "sent")),
        "replies_pending": _count(
            session, count.select_from(ReplyRow).where(ReplyRow.status.in_(("draft", "approved", "sending")))
        ),
        "replies_failed": _count(session, count.select_from(ReplyRow).where(ReplyRow.status == "failed")),
        "replies_paused": _paused(session),
        "sources": sources,
        "alerts": recent_alerts(session, datetime.now(UTC) - timedelta(days=1)),
    }


def _paused(session: so.Session) -> dict[str, Any] | None:
    pause = replies_paused(session)
    return (
        None if pause is None else {"by": pause.by, "reason": pause.reason, "since": pause.since.isoformat()}
    )
