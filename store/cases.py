"""Cases: one per conversation that needs the team, with its SLA clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.models import CaseRow


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


def mark_first_response(session: so.Session, case_id: int | None, at: datetime) -> None:
    if case_id is None:
        return
    case = session.get(CaseRow, case_id)
    if case is not None and case.first_response_at is None:
        case.first_response_at = at
        case.status = "waiting" if case.status == "new" else case.status
        case.updated_at = datetime.now(UTC)
