"""The SLA clock counts working time only: working days and hours in the business time zone, minus public
holidays (the `holidays` package) and company days off; targets take the tightest rule that applies."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from store.config import BusinessHours, SlaBand, SlaConfig, SlaTarget
from store.sla import SlaClock, Targets, sla_targets

NY = ZoneInfo("America/New_York")
US_HOURS = BusinessHours(timezone="America/New_York", holidays="US")  # Mon-Fri 09:00-17:00
FRIDAY = datetime(2026, 5, 22, 16, 0, tzinfo=NY)  # before Memorial Day, Monday 25 May 2026


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=NY)


def test_a_due_time_skips_the_night_the_weekend_and_a_public_holiday() -> None:
    clock = SlaClock(US_HOURS)
    assert clock.add(FRIDAY, 60) == ny(22, 17).astimezone(UTC)  # the last hour of Friday
    assert clock.add(FRIDAY, 120) == ny(26, 10).astimezone(UTC)  # Monday is Memorial Day
    assert clock.add(ny(23, 12), 30) == ny(26, 9, 30).astimezone(UTC)  # posted on Saturday
    assert clock.add(ny(26, 20), 30) == ny(27, 9, 30).astimezone(UTC)  # after hours on Tuesday
    assert clock.between(FRIDAY, ny(26, 10)) == timedelta(minutes=120)
    assert clock.subtract(ny(26, 10), 90) == ny(22, 16, 30).astimezone(UTC)
    assert clock.subtract(ny(26, 9, 30), 30) == ny(26, 9).astimezone(UTC)


def test_without_business_hours_the_clock_is_the_wall_clock() -> None:
    clock = SlaClock(None)
    assert clock.add(FRIDAY, 120) == FRIDAY + timedelta(hours=2)
    assert clock.between(FRIDAY, FRIDAY + timedelta(days=3)) == timedelta(days=3)


def test_company_days_off_and_other_working_weeks_count_too() -> None:
    hours = BusinessHours(
        timezone="Europe/Berlin",
        days=("mon", "tue", "wed", "thu", "sun"),
        start=time(8, 0),
        end=time(12, 0),
        extra_holidays=(date(2026, 5, 21),),  # Thursday off
    )
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 5, 20, 11, 0, tzinfo=berlin)  # Wednesday
    assert SlaClock(hours).add(start, 120) == datetime(2026, 5, 24, 9, 0, tzinfo=berlin).astimezone(UTC)


def test_the_tightest_target_of_base_band_and_platform_wins() -> None:
    cfg = SlaConfig(
        first_response_minutes=240,
        vip_first_response_minutes=30,
        resolution_minutes=2880,
        bands=(
            SlaBand(min_priority=50, first_response_minutes=120),
            SlaBand(min_priority=80, first_response_minutes=60, resolution_minutes=600),
        ),
        platforms={"x": SlaTarget(first_response_minutes=90)},
    )

    def minutes(targets: Targets) -> tuple[float, float]:
        return targets.first_response.total_seconds() / 60, targets.resolution.total_seconds() / 60

    assert minutes(sla_targets(cfg, priority=10, platform="reddit", vip=False)) == (240, 2880)
    assert minutes(sla_targets(cfg, priority=60, platform="reddit", vip=False)) == (120, 2880)
    assert minutes(sla_targets(cfg, priority=90, platform="reddit", vip=False)) == (60, 600)
    assert minutes(sla_targets(cfg, priority=60, platform="x", vip=False)) == (90, 2880)
    assert minutes(sla_targets(cfg, priority=90, platform="x", vip=True)) == (30, 480)


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({"holidays": "XX"}, "not a country code"),
        ({"holidays": "US", "subdivision": "ZZ"}, "not a subdivision of US"),
        ({"start": "17:00", "end": "09:00"}, "start must be before end"),
        ({"days": []}, "at least one working day"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_bad_business_hours_are_refused_with_why(hours: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BusinessHours.model_validate(hours)


def test_a_dst_change_inside_business_hours_counts_real_time() -> None:
    hours = BusinessHours(timezone="America/New_York", days=("sun",), start=time(0, 0), end=time(23, 59))
    clock = SlaClock(hours)
    start = datetime(2024, 3, 10, 1, 0, tzinfo=NY)  # an hour before the clocks jump from 02:00 to 03:00
    due = clock.add(start, 120)
    assert due == datetime(2024, 3, 10, 8, 0, tzinfo=UTC)  # 04:00 EDT: two real hours later
    assert clock.between(start, due) == timedelta(hours=2)
    assert clock.subtract(due, 120) == start.astimezone(UTC)
