"""SLA reminders and breach alerts in simulated time: each fires once, at the right moment, across a weekend
and a public holiday with business hours on; a snooze holds a reminder, never a breach."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import time_machine

from app.pipeline import watch_slas
from store.cases import attach_card, mark_first_response, open_case
from store.config import BusinessHours, SlaConfig
from store.db import Sessions
from store.models import CaseRow
from store.sla import SlaClock, sla_targets
from tests.fakes import RecordingQueue

NY = ZoneInfo("America/New_York")
SLA = SlaConfig(
    first_response_minutes=120,
    resolution_minutes=600,
    business_hours=BusinessHours(timezone="America/New_York", holidays="US"),  # Mon-Fri 09:00-17:00
    reminder_minutes=30,
)


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=NY)


def a_case(
    sessions: Sessions,
    posted: datetime,
    *,
    assignee: str | None = "slack:U0ANA",
    seen: datetime | None = None,
) -> int:
    """A case of a post at `posted` that Hark saw (and linked) at `seen`, by default at once."""
    with time_machine.travel(seen or posted, tick=False), sessions.begin() as session:
        targets = sla_targets(SLA, priority=50, platform="x", vip=False)
        case = open_case(
            session,
            platform="x",
            conversation_id=f"c{posted.timestamp()}",
            customer_id=None,
            priority=50,
            sla=(SlaClock(SLA.business_hours), targets),
            at=posted,
        )
        case.assignee = assignee
        attach_card(session, case.id, channel="C0QUEUE", ref=f"ts-{case.id}", escalated=False)
        return case.id


def watch(sessions: Sessions, queue: RecordingQueue, at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        return watch_slas(sessions, queue, SLA)


def test_the_reminder_and_the_breach_alert_fire_once_each_across_a_weekend_and_a_holiday(
    sessions: Sessions,
) -> None:
    case_id = a_case(sessions, ny(22, 16))  # Friday 16:00; Monday 25 May is Memorial Day
    with sessions() as session:
        case = session.get_one(CaseRow, case_id)
    assert case.sla_due_at == ny(26, 10).astimezone(UTC)  # two working hours: Fri 16-17, Tue 09-10
    assert case.resolution_due_at == ny(27, 10).astimezone(UTC)  # ten: Fri 1, Tue 8, Wed 1
    queue = RecordingQueue()
    quiet = [ny(22, 16, 20), ny(22, 23), ny(23, 12), ny(24, 18), ny(25, 10), ny(26, 9, 29)]
    assert [watch(sessions, queue, at) for at in quiet] == [0] * len(quiet)
    assert watch(sessions, queue, ny(26, 9, 30)) == 1  # 30 working minutes before it is due
    assert watch(sessions, queue, ny(26, 9, 45)) == 0
    assert watch(sessions, queue, ny(26, 10, 0)) == 1  # missed
    assert watch(sessions, queue, ny(26, 12, 0)) == 0
    assert [text for _, _, text in queue.notes] == [
        "Reminder: the first response is due 2026-05-26 14:00 UTC (30 working minutes left).",
        "SLA missed: the first response was due 2026-05-26 14:00 UTC. On-call was told.",
    ]
    assert {(channel, thread) for channel, thread, _ in queue.notes} == {("C0QUEUE", f"ts-{case_id}")}
    assert queue.called == ["slack:U0ANA", "slack:U0ANA"]  # whoever holds the case hears of it
    assert queue.alerts == [
        f"Case #{case_id} on x missed its first response target (due 2026-05-26 14:00 UTC)."
    ]
    assert watch(sessions, queue, ny(27, 9, 29)) == 0
    assert watch(sessions, queue, ny(27, 9, 30)) == 1  # the resolution reminder
    assert watch(sessions, queue, ny(27, 10, 0)) == 1
    assert (
        queue.alerts[-1] == f"Case #{case_id} on x missed its resolution target (due 2026-05-27 14:00 UTC)."
    )
    assert watch(sessions, queue, ny(28, 9)) == 0


def test_a_first_response_in_time_cancels_its_alerts_and_a_snooze_holds_only_the_reminder(
    sessions: Sessions,
) -> None:
    answered = a_case(sessions, ny(26, 9))
    snoozed = a_case(sessions, ny(26, 9, 5), assignee=None)
    with time_machine.travel(ny(26, 9, 30), tick=False), sessions.begin() as session:
        mark_first_response(session, answered, ny(26, 9, 30).astimezone(UTC))
        session.get_one(CaseRow, snoozed).snoozed_until = ny(26, 11, 30).astimezone(UTC)
    queue = RecordingQueue()
    assert watch(sessions, queue, ny(26, 10, 40)) == 0  # snoozed's reminder waits
    assert watch(sessions, queue, ny(26, 11, 5)) == 1  # its breach does not
    assert queue.alerts == [
        f"Case #{snoozed} on x missed its first response target (due 2026-05-26 15:05 UTC)."
    ]
    assert queue.called == [None]
    assert all(f"#{answered} " not in text for text in queue.alerts)


def test_a_target_missed_before_hark_saw_the_post_pages_nobody(sessions: Sessions) -> None:
    late = a_case(sessions, ny(22, 16), seen=ny(26, 12))  # a replay or a backfill, after its 10:00 due time
    queue = RecordingQueue()
    assert watch(sessions, queue, ny(26, 12, 1)) == 0
    assert watch(sessions, queue, ny(27, 9, 30)) == 1  # the resolution is still ahead: that one is watched
    assert [text for _, _, text in queue.notes] == [
        "Reminder: the resolution is due 2026-05-27 14:00 UTC (30 working minutes left)."
    ]
    assert queue.alerts == []
    with sessions() as session:
        assert session.get_one(CaseRow, late).sla_due_at == ny(26, 10).astimezone(UTC)  # shown overdue
