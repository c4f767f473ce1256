"""Which weekly reports were built and posted: a week is claimed once, so a report is posted once."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.inserts import insert_new
from store.models import ReportRow

STALE_CLAIM = timedelta(hours=1)  # a claim this old with nothing posted was a crash: the week is free again


def claim_week(session: so.Session, week: str, now: datetime) -> bool:
    """True when this caller should build and post `week`'s report: nobody has, and nobody is at it."""
    if insert_new(session, ReportRow, {"week": week, "claimed_at": now}, unique=["week"]):
        return True
    result = session.execute(
        sa.update(ReportRow)
        .where(
            ReportRow.week == week, ReportRow.posted_at.is_(None), ReportRow.claimed_at < now - STALE_CLAIM
        )
        .values(claimed_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult


def record_built(session: so.Session, week: str, folder: str, at: datetime) -> None:
    """A report of `week` was written to `folder` (by the schedule or by hand)."""
    if not insert_new(
        session,
        ReportRow,
        {"week": week, "claimed_at": at, "built_at": at, "folder": folder},
        unique=["week"],
    ):
        session.execute(sa.update(ReportRow).where(ReportRow.week == week).values(built_at=at, folder=folder))


def record_posted(session: so.Session, week: str, ref: str, at: datetime) -> None:
    session.execute(sa.update(ReportRow).where(ReportRow.week == week).values(posted_at=at, posted_ref=ref))
