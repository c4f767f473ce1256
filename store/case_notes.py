"""Internal notes: what the team types in a case's Slack thread is kept with the case and never sent."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.inserts import insert_new
from store.models import CardRow, CaseNoteRow, CaseRow


def case_of_thread(session: so.Session, channel: str, thread_ts: str) -> int | None:
    """The case whose thread (or one of whose cards) this is, if any."""
    case_id = session.scalar(
        sa.select(CaseRow.id).where(CaseRow.slack_channel == channel, CaseRow.slack_ts == thread_ts)
    )
    if case_id is None:
        case_id = session.scalar(
            sa.select(CardRow.case_id).where(CardRow.channel == channel, CardRow.ts == thread_ts)
        )
    return case_id


def add_note(
    session: so.Session, *, channel: str, thread_ts: str, ts: str, author: str, text: str, at: datetime
) -> int | None:
    """Keep a thread message as a note of its case; the case's id, or None when the thread is no case's or
    the message was kept already (Slack delivers an event again when it is not acknowledged in time)."""
    case_id = case_of_thread(session, channel, thread_ts)
    if case_id is None:
        return None
    note = {
        "case_id": case_id,
        "author": author[:100],
        "text": text,
        "channel": channel,
        "ts": ts,
        "created_at": at,
    }
    return case_id if insert_new(session, CaseNoteRow, note, unique=["channel", "ts"]) else None


def notes_of_case(session: so.Session, case_id: int) -> list[CaseNoteRow]:
    return list(
        session.scalars(sa.select(CaseNoteRow).where(CaseNoteRow.case_id == case_id).order_by(CaseNoteRow.id))
    )
