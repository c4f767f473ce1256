"""What a person does to a case: claim, unclaim, resolve, reopen, escalate, snooze. Each is audited.

Every change is one conditional UPDATE, so two people clicking at once (or one request delivered twice)
change a case once: the second finds the case already changed and gets told so, and nothing is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.customers import audit
from store.models import CaseRow, MentionRow


@dataclass(frozen=True, slots=True)
class Outcome:
    """Whether the case changed; if not, why not (`refused` when it was not this person's to change)."""

    changed: bool
    why: str = ""
    refused: bool = False
    holder: str | None = None  # who holds the case, when that is why: "<holder> <why>"


def case_of_mention(session: so.Session, mention_id: int) -> CaseRow:
    mention = session.get(MentionRow, mention_id)
    if mention is None or mention.case_id is None:
        raise LookupError(f"mention {mention_id} has no case")
    return session.get_one(CaseRow, mention.case_id)


def _update(session: so.Session, case_id: int, when: sa.ColumnElement[bool], **values: object) -> bool:
    result = session.execute(
        sa.update(CaseRow)
        .where(CaseRow.id == case_id, when)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # an UPDATE's CursorResult has rowcount


def _done(session: so.Session, case_id: int, by: str, action: str, detail: dict[str, object]) -> Outcome:
    audit(session, by, action, f"case:{case_id}", detail)
    return Outcome(True)


def claim_case(session: so.Session, case_id: int, *, by: str, now: datetime) -> Outcome:
    """Take the case. A second person is refused with who holds it; claiming one's own changes nothing."""
    free = sa.and_(CaseRow.assignee.is_(None), CaseRow.status != "resolved")
    status = sa.case((CaseRow.status == "new", "claimed"), else_=CaseRow.status)
    if _update(session, case_id, free, assignee=by, status=status, updated_at=now):
        return _done(session, case_id, by, "case_claimed", {})
    case = session.get_one(CaseRow, case_id)
    session.refresh(case)
    if case.status == "resolved":
        return Outcome(False, "the case is resolved: reopen it first", refused=True)
    if case.assignee == by:
        return Outcome(False, "you hold this case already")
    return Outcome(False, "holds this case", refused=True, holder=case.assignee)


def unclaim_case(session: so.Session, case_id: int, *, by: str, now: datetime) -> Outcome:
    """Give the case back. Only whoever holds it can."""
    status = sa.case((CaseRow.status == "claimed", "new"), else_=CaseRow.status)
    if _update(session, case_id, CaseRow.assignee == by, assignee=None, status=status, updated_at=now):
        return _done(session, case_id, by, "case_unclaimed", {})
    case = session.get_one(CaseRow, case_id)
    session.refresh(case)
    if case.assignee is None:
        return Outcome(False, "nobody holds this case")
    return Outcome(False, "holds this case: only they can give it back", refused=True, holder=case.assignee)


def resolve_case(session: so.Session, case_id: int, *, by: str, now: datetime) -> Outcome:
    if _update(
        session, case_id, CaseRow.status != "resolved", status="resolved", resolved_at=now, updated_at=now
    ):
        return _done(session, case_id, by, "case_resolved", {})
    return Outcome(False, "the case is resolved already")


def reopen_case(session: so.Session, case_id: int, *, by: str, now: datetime) -> Outcome:
    """Open a resolved case again: claimed if someone holds it, waiting once answered, else new."""
    status = sa.case(
        (CaseRow.assignee.is_not(None), "claimed"),
        (CaseRow.first_response_at.is_not(None), "waiting"),
        else_="new",
    )
    # the old resolution target is spent: a reopened case pages nobody for it (a new post sets a new one)
    reopened = {"status": status, "resolved_at": None, "resolution_due_at": None, "updated_at": now}
    if _update(session, case_id, CaseRow.status == "resolved", **reopened):
        return _done(session, case_id, by, "case_reopened", {})
    return Outcome(False, "the case is open already")


def escalate_case(session: so.Session, case_id: int, *, by: str, now: datetime) -> Outcome:
    if _update(session, case_id, CaseRow.escalated.is_(False), escalated=True, updated_at=now):
        return _done(session, case_id, by, "case_escalated", {})
    return Outcome(False, "the case is escalated already")


def snooze_case(session: so.Session, case_id: int, *, by: str, until: datetime, now: datetime) -> Outcome:
    """Put the case aside until `until` (its reminders wait); a later snooze replaces an earlier one."""
    if until <= now:
        return Outcome(False, "a snooze must end in the future", refused=True)
    same = sa.and_(CaseRow.snoozed_until.is_not(None), CaseRow.snoozed_until == until)
    if _update(session, case_id, sa.not_(same), snoozed_until=until, updated_at=now):
        return _done(session, case_id, by, "case_snoozed", {"until": until.isoformat()})
    return Outcome(False, "the case is snoozed until then already")
