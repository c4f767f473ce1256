"""Cases: one per conversation that needs the team, with its SLA clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.models import CaseRow, MentionRow


def open_case(
    session: so.Session,
    *,
    platform: str,
    conversation_id: str,
    customer_id: int | None,
    priority: int,
    sla: timedelta | None,
    at: datetime,
) -> CaseRow:
    """Return the conversation's case, creating or reopening it; priority only ever rises.

    `at` is when the customer posted: the SLA clock runs from then, not from when Hark got round to
    the post, so a slow poll or a restart after downtime cannot hide a late answer.
    """
    now = datetime.now(UTC)
    posted = min(at, now)  # a platform clock ahead of ours must not extend the SLA
    case = session.scalar(
        sa.select(CaseRow).where(CaseRow.platform == platform, CaseRow.conversation_id == conversation_id)
    )
    if case is None:
        case = CaseRow(
            platform=platform,
            conversation_id=conversation_id,
            customer_id=customer_id,
            status="new",
            priority=priority,
            escalated=False,
            opened_at=posted,
            updated_at=now,
        )
        session.add(case)
    elif case.status == "resolved":
        case.status, case.resolved_at, case.first_response_at = "new", None, None
        case.opened_at = posted
        case.sla_due_at = None
    case.priority = max(case.priority or 0, priority)
    if case.customer_id is None:
        case.customer_id = customer_id
    if sla is not None:
        due = posted + sla
        case.sla_due_at = due if case.sla_due_at is None else min(case.sla_due_at, due)
    case.updated_at = now
    session.flush()
    return case


def ensure_case(session: so.Session, row: MentionRow, priority: int) -> int:
    """The mention's case, opened without an SLA when linking saw no need for one: whatever routing puts in
    front of a person (a queued post, a blocked auto-reply) must have a case to own it."""
    if row.case_id is None:
        case = open_case(
            session,
            platform=row.platform,
            conversation_id=row.conversation_id or row.external_id,
            customer_id=row.customer_id,
            priority=priority,
            sla=None,
            at=row.created_at,
        )
        row.case_id = case.id
    return row.case_id


def mark_first_response(session: so.Session, case_id: int | None, at: datetime) -> None:
    if case_id is None:
        return
    case = session.get(CaseRow, case_id)
    if case is not None and case.first_response_at is None:
        case.first_response_at = at
        case.status = "waiting" if case.status == "new" else case.status
        case.updated_at = datetime.now(UTC)


def case_priority(session: so.Session, case_id: int) -> int:
    """A case's priority carries its customer's segment boosts."""
    return session.get_one(CaseRow, case_id).priority


def case_thread(session: so.Session, case_id: int) -> str | None:
    """The queue message that opened the case's thread, once a card was posted."""
    return session.get_one(CaseRow, case_id).slack_ts


def case_card(session: so.Session, case_id: int) -> tuple[str, str] | None:
    """The channel and reference of the card that opened the case's thread, once one was posted."""
    case = session.get_one(CaseRow, case_id)
    if case.slack_ts is None:
        return None
    return case.slack_channel or "", case.slack_ts


def attach_card(session: so.Session, case_id: int, *, channel: str, ref: str, escalated: bool) -> None:
    """The first card of a case opens its thread; an escalated card escalates the case."""
    case = session.get_one(CaseRow, case_id)
    if case.slack_ts is None:
        case.slack_channel, case.slack_ts = channel, ref
    case.escalated = case.escalated or escalated
