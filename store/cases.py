"""Cases: one per conversation that needs the team, with its SLA clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.models import CaseRow, MentionRow
from store.sla import SlaClock, Targets


def open_case(
    session: so.Session,
    *,
    platform: str,
    conversation_id: str,
    customer_id: int | None,
    priority: int,
    sla: tuple[SlaClock, Targets] | None,
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
        case.sla_due_at = case.resolution_due_at = case.sla_set_at = None
    case.priority = max(case.priority or 0, priority)
    if case.customer_id is None:
        case.customer_id = customer_id
    if sla is not None:
        clock, targets = sla
        due = clock.add(posted, targets.first_response.total_seconds() / 60)
        case.sla_due_at = due if case.sla_due_at is None else min(case.sla_due_at, due)
        case.sla_set_at = case.sla_set_at or now
        resolve_by = clock.add(posted, targets.resolution.total_seconds() / 60)
        case.resolution_due_at = (
            resolve_by if case.resolution_due_at is None else min(case.resolution_due_at, resolve_by)
        )
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


SOON = timedelta(hours=1)  # a first response due within this is "due soon"


def open_case_stats(session: so.Session, now: datetime) -> dict[str, dict[str, int]]:
    """Open cases by status, and by where their first-response SLA stands now."""
    by_status: dict[str, int] = {}
    by_sla = {"overdue": 0, "due_soon": 0, "on_time": 0, "answered": 0, "no_sla": 0}
    rows = session.execute(
        sa.select(CaseRow.status, CaseRow.sla_due_at, CaseRow.first_response_at).where(
            CaseRow.status != "resolved"
        )
    )
    for status, due, answered in rows:
        by_status[status] = by_status.get(status, 0) + 1
        if answered is not None:
            by_sla["answered"] += 1
        elif due is None:
            by_sla["no_sla"] += 1
        elif due < now:
            by_sla["overdue"] += 1
        elif due < now + SOON:
            by_sla["due_soon"] += 1
        else:
            by_sla["on_time"] += 1
    return {"status": by_status, "sla": by_sla}


def held_cases(session: so.Session, assignee: str) -> list[CaseRow]:
    """Open cases that `assignee` claimed, the soonest due first."""
    return list(
        session.scalars(
            sa.select(CaseRow)
            .where(CaseRow.assignee == assignee, CaseRow.status != "resolved")
            .order_by(CaseRow.sla_due_at.is_(None), CaseRow.sla_due_at, CaseRow.id)
        )
    )
