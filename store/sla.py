"""The SLA clock: targets for a case, and due times counted in business hours when they are configured.

The clock counts minutes only while the team works: on working days, between start and end in the business
time zone, never on a public holiday. Without business hours it is the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import sqlalchemy as sa
import sqlalchemy.orm as so

from store.config import WEEKDAYS, BusinessHours, SlaConfig, SlaTarget
from store.inserts import insert_new
from store.models import CaseRow, SlaAlertRow

MAX_DAYS = 3660  # a clock with no working time left in ten years is a config mistake, not a loop


@lru_cache(maxsize=32)
def _holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


@dataclass(frozen=True)
class SlaClock:
    hours: BusinessHours | None = None

    def _works_on(self, day: date) -> bool:
        hours = self.hours
        assert hours is not None  # noqa: S101  # only asked of a business-hours clock
        if WEEKDAYS[day.weekday()] not in hours.days or day in hours.extra_holidays:
            return False
        return hours.holidays is None or day not in _holidays(hours.holidays, hours.subdivision, day.year)

    def _window(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """A working day's opening and closing, in UTC: sums of time across a DST change stay real time."""
        hours = self.hours
        assert hours is not None  # noqa: S101
        opens, closes = datetime.combine(day, hours.start, zone), datetime.combine(day, hours.end, zone)
        return opens.astimezone(UTC), closes.astimezone(UTC)

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` of working time after `start` (a moment outside hours counts from the next
        opening)."""
        if self.hours is None:
            return start + timedelta(minutes=minutes)
        zone = ZoneInfo(self.hours.timezone)
        left = timedelta(minutes=minutes)
        at = start.astimezone(UTC)
        day = start.astimezone(zone).date()
        for _ in range(MAX_DAYS):
            if self._works_on(day):
                opens, closes = self._window(day, zone)
                begin = max(at, opens)
                if begin < closes:
                    if begin + left <= closes:
                        return begin + left
                    left -= closes - begin
            day += timedelta(days=1)
        raise ValueError("the business hours leave no working time within ten years")

    def subtract(self, end: datetime, minutes: float) -> datetime:
        """The moment `minutes` of working time before `end`."""
        if self.hours is None:
            return end - timedelta(minutes=minutes)
        zone = ZoneInfo(self.hours.timezone)
        left = timedelta(minutes=minutes)
        at = end.astimezone(UTC)
        day = end.astimezone(zone).date()
        for _ in range(MAX_DAYS):
            if self._works_on(day):
                opens, closes = self._window(day, zone)
                finish = min(at, closes)
                if finish > opens:
                    if finish - left >= opens:
                        return finish - left
                    left -= finish - opens
            day -= timedelta(days=1)
        raise ValueError("the business hours leave no working time within ten years")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from `start` to `end` (zero when end is not after start): a response time."""
        if end <= start:
            return timedelta(0)
        if self.hours is None:
            return end - start
        zone = ZoneInfo(self.hours.timezone)
        total = timedelta(0)
        day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        while day <= last:
            if self._works_on(day):
                opens, closes = self._window(day, zone)
                begin, finish = max(opens, start), min(closes, end)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total


@dataclass(frozen=True)
class Targets:
    first_response: timedelta
    resolution: timedelta


def sla_targets(cfg: SlaConfig, *, priority: int, platform: str, vip: bool) -> Targets:
    """The tightest targets of every rule that applies to a case (minutes on the SLA clock)."""
    first = [cfg.vip_first_response_minutes if vip else cfg.first_response_minutes]
    resolution = [cfg.vip_resolution_minutes if vip else cfg.resolution_minutes]
    reached = [band for band in cfg.bands if priority >= band.min_priority]
    rules: list[SlaTarget] = [max(reached, key=lambda band: band.min_priority)] if reached else []
    if platform in cfg.platforms:
        rules.append(cfg.platforms[platform])
    for rule in rules:
        if rule.first_response_minutes is not None:
            first.append(rule.first_response_minutes)
        if rule.resolution_minutes is not None:
            resolution.append(rule.resolution_minutes)
    return Targets(timedelta(minutes=min(first)), timedelta(minutes=min(resolution)))


KINDS = ("first_response", "resolution")


@dataclass(frozen=True)
class SlaAlert:
    """A reminder before a due time, or the alert that it passed, owed for one case."""

    case_id: int
    target: str  # first_response or resolution
    breach: bool
    due_at: datetime
    platform: str
    assignee: str | None
    channel: str | None  # where the case's thread is, if it has a card
    thread: str | None

    @property
    def kind(self) -> str:
        return f"{self.target}_{'breach' if self.breach else 'reminder'}"


def owed_sla_alerts(session: so.Session, clock: SlaClock, lead_minutes: int, now: datetime) -> list[SlaAlert]:
    """Every reminder and breach alert due by `now` and not sent yet. A snoozed case gets no reminder until
    its snooze ends; a breach is told all the same. A case already past a due time gets only the breach, and
    a due time that had passed before Hark set it (an old post replayed, a backfill) gets neither."""
    open_cases = session.scalars(
        sa.select(CaseRow)
        .where(
            CaseRow.status != "resolved",
            sa.or_(
                sa.and_(CaseRow.sla_due_at.is_not(None), CaseRow.first_response_at.is_(None)),
                CaseRow.resolution_due_at.is_not(None),
            ),
        )
        .order_by(CaseRow.id)
    ).all()
    sent = {
        (row.case_id, row.kind, row.due_at)
        for row in session.scalars(
            sa.select(SlaAlertRow).where(SlaAlertRow.case_id.in_([c.id for c in open_cases]))
        )
    }
    owed = []
    for case in open_cases:
        for target, due, done in (
            ("first_response", case.sla_due_at, case.first_response_at),
            ("resolution", case.resolution_due_at, case.resolved_at),
        ):
            if due is None or done is not None:
                continue
            breach = now >= due
            if case.sla_set_at is not None and due <= case.sla_set_at:
                continue  # missed before Hark saw the post: the card shows it overdue, nobody is paged
            if not breach:
                snoozed = case.snoozed_until is not None and case.snoozed_until > now
                if snoozed or now < clock.subtract(due, lead_minutes):
                    continue
            alert = SlaAlert(
                case.id, target, breach, due, case.platform, case.assignee, case.slack_channel, case.slack_ts
            )
            if (case.id, alert.kind, due) in sent or (
                not breach and (case.id, f"{target}_breach", due) in sent
            ):
                continue
            owed.append(alert)
    return owed


def record_sla_alert(session: so.Session, alert: SlaAlert, at: datetime) -> bool:
    """Keep that the alert was sent; False when another process sent it first."""
    row = {"case_id": alert.case_id, "kind": alert.kind, "due_at": alert.due_at, "sent_at": at}
    return insert_new(session, SlaAlertRow, row, unique=["case_id", "kind", "due_at"])
