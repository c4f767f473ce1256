"""Run-time switches: `hark replies pause` is a row here, so every running process sees it next step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy.orm as so

from store.customers import audit
from store.models import SwitchRow

REPLIES_PAUSED = "replies_paused"


@dataclass(frozen=True, slots=True)
class Pause:
    by: str
    reason: str | None
    since: datetime


def replies_paused(session: so.Session) -> Pause | None:
    """Who paused replies, why and since when; None while they flow."""
    row = session.get(SwitchRow, REPLIES_PAUSED)
    return None if row is None else Pause(row.set_by, row.reason, row.set_at)


def pause_replies(session: so.Session, *, by: str, reason: str | None) -> Pause:
    """Stop every process from sending; replies keep waiting in the outbox. Pausing twice keeps the first."""
    by = by[:100]  # switches.set_by and audit_log.actor hold 100 characters
    row = session.get(SwitchRow, REPLIES_PAUSED)
    if row is None:
        row = SwitchRow(name=REPLIES_PAUSED, reason=reason, set_by=by, set_at=datetime.now(UTC))
        session.add(row)
        audit(session, by, "replies_paused", "replies", {"reason": reason})
    return Pause(row.set_by, row.reason, row.set_at)


def resume_replies(session: so.Session, *, by: str) -> bool:
    """Let replies flow again; False if they were not paused."""
    by = by[:100]
    row = session.get(SwitchRow, REPLIES_PAUSED)
    if row is None:
        return False
    session.delete(row)
    audit(session, by, "replies_resumed", "replies", {"paused_by": row.set_by})
    return True
