"""Alerts raised (spikes, silent sources): the cooldown, what is still active, what `hark status` shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.models import AlertRow


@dataclass(frozen=True)
class Alert:
    kind: str
    subject: str
    message: str  # Hark's words, with quoted post text: sent as literal text
    detail: dict[str, Any]


def in_cooldown(
    session: so.Session, kinds: tuple[str, ...], subject: str, now: datetime, cooldown: timedelta
) -> bool:
    """True when an alert of one of these kinds on `subject` was raised less than `cooldown` ago."""
    newest = session.scalars(
        sa.select(AlertRow.fired_at)
        .where(AlertRow.kind.in_(kinds), AlertRow.subject == subject)
        .order_by(AlertRow.fired_at.desc())
        .limit(1)
    ).first()
    return newest is not None and now - newest < cooldown


def active(session: so.Session, kind: str, subject: str) -> AlertRow | None:
    """The alert of this kind on this subject that has not cleared yet."""
    return session.scalars(
        sa.select(AlertRow).where(
            AlertRow.kind == kind, AlertRow.subject == subject, AlertRow.cleared_at.is_(None)
        )
    ).first()


def raise_alert(session: so.Session, alert: Alert, now: datetime, *, event: bool = False) -> AlertRow:
    """Keep a new alert; an `event` (a spike) is over when raised, a state (a silent source) lasts until
    cleared."""
    row = AlertRow(
        kind=alert.kind,
        subject=alert.subject,
        fired_at=now,
        cleared_at=now if event else None,
        message=alert.message,
        detail=alert.detail,
    )
    session.add(row)
    session.flush()
    return row


def clear(session: so.Session, kind: str, subject: str, now: datetime) -> int:
    result = session.execute(
        sa.update(AlertRow)
        .where(AlertRow.kind == kind, AlertRow.subject == subject, AlertRow.cleared_at.is_(None))
        .values(cleared_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # a CursorResult


def mark_posted(session: so.Session, alert_id: int, ref: str) -> None:
    session.execute(sa.update(AlertRow).where(AlertRow.id == alert_id).values(posted_ref=ref))


def unposted(session: so.Session, limit: int) -> list[AlertRow]:
    return list(
        session.scalars(
            sa.select(AlertRow).where(AlertRow.posted_ref.is_(None)).order_by(AlertRow.id).limit(limit)
        )
    )


def recent_alerts(session: so.Session, since: datetime) -> list[dict[str, Any]]:
    """Alerts still active, or raised since `since`, newest first."""
    rows = session.scalars(
        sa.select(AlertRow)
        .where(sa.or_(AlertRow.cleared_at.is_(None), AlertRow.fired_at >= since))
        .order_by(AlertRow.fired_at.desc(), AlertRow.id.desc())
        .limit(50)
    )
    return [
        {
            "kind": row.kind,
            "subject": row.subject,
            "fired_at": row.fired_at.isoformat(),
            "cleared_at": row.cleared_at.isoformat() if row.cleared_at else None,
            "active": row.cleared_at is None,
            "message": row.message,
        }
        for row in rows
    ]
