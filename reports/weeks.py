"""ISO weeks and days on the brand's clock: a week starts at local Monday 00:00, whatever DST does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hark.errors import UsageError

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """'2026-W47' (ISO 8601); UsageError for anything else or a week the year does not have."""
        match = WEEK.match(text.strip())
        if match is None:
            raise UsageError(f"a week is written like 2026-W47, not {text!r}")
        year, week = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise UsageError(f"{year} has no ISO week {week}") from None
        return cls(year, week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @classmethod
    def last_complete(cls, now: datetime, zone: ZoneInfo) -> IsoWeek:
        """The newest week that has ended on the local clock at `now`."""
        return cls.of(now.astimezone(zone).date()).shifted(-1)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def shifted(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.monday + timedelta(weeks=weeks))

    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The week's first and first-after instants, in UTC (a DST week is 167 or 169 hours long)."""
        return local_midnight(self.monday, zone), local_midnight(self.monday + timedelta(days=7), zone)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)
