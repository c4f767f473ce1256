"""Config of what the store decides for each customer: segments, VIP rules, products, SLA times."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal

import holidays
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PositiveInt, model_validator

from hark.paths import ConfigPath
from hark.validation import zone_name
from platforms.registry import known_platform

Segment = Literal["vip", "frequent_complainer", "promoter", "detractor"]


class SegmentsConfig(BaseModel):
    """Rules that put a customer in a segment; `vip` comes from `vip_tiers` and `vip_min_lifetime_value`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    complainer_min_complaints: PositiveInt = 3  # complaints or churn risks within complainer_days
    complainer_days: PositiveInt = 90
    sentiment_days: PositiveInt = 90  # window of net sentiment: (positive - negative) / mentions
    sentiment_min_mentions: PositiveInt = 2
    promoter_min_net: float = Field(default=0.5, ge=-1, le=1)
    detractor_max_net: float = Field(default=-0.5, ge=-1, le=1)


class CustomersConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    import_csv: ConfigPath | None = None  # imported at startup, idempotently
    vip_tiers: tuple[str, ...] = ("VIP",)
    vip_min_lifetime_value: float | None = None
    segments: SegmentsConfig = SegmentsConfig()
    # added to a mention's priority for each segment its author is in (the total is capped at 100)
    priority_boost: dict[Segment, int] = {"vip": 20, "frequent_complainer": 10, "detractor": 5}
    products: tuple[str, ...] = ()  # product names a buying signal may name: a lead's product interest


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SlaTarget(BaseModel):
    """Targets in minutes of the SLA clock (business minutes when business hours are configured)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    first_response_minutes: PositiveInt | None = None
    resolution_minutes: PositiveInt | None = None


class SlaBand(SlaTarget):
    """Targets for cases of at least this priority."""

    min_priority: int = Field(ge=0, le=100)


class BusinessHours(BaseModel):
    """When the SLA clock runs: working hours on working days in one time zone, minus public holidays."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    timezone: Annotated[str, AfterValidator(zone_name)] = "UTC"
    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: time = time(9, 0)
    end: time = time(17, 0)
    holidays: str | None = None  # a country code of the `holidays` package: "US", "DE", "GB", ...
    subdivision: str | None = None  # its state or province, e.g. "CA", "BY"
    extra_holidays: tuple[date, ...] = ()  # company days off

    @model_validator(mode="after")
    def _sane(self) -> BusinessHours:
        if self.start >= self.end:
            raise ValueError("business_hours: start must be before end (on the same day)")
        if not self.days:
            raise ValueError("business_hours: days needs at least one working day")
        if self.holidays is not None:
            supported = holidays.list_supported_countries()
            if self.holidays not in supported:
                raise ValueError(f"holidays: {self.holidays!r} is not a country code of the holidays package")
            if self.subdivision is not None and self.subdivision not in supported[self.holidays]:
                raise ValueError(f"subdivision: {self.subdivision!r} is not a subdivision of {self.holidays}")
        return self


class SlaConfig(BaseModel):
    """First-response and resolution targets. A case gets the tightest target of every rule that applies:
    the base (or VIP) one, the highest priority band it reaches, and its platform's."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    first_response_minutes: PositiveInt = 240
    vip_first_response_minutes: PositiveInt = 30
    resolution_minutes: PositiveInt = 2880
    vip_resolution_minutes: PositiveInt = 480
    bands: tuple[SlaBand, ...] = ()
    platforms: dict[Annotated[str, AfterValidator(known_platform)], SlaTarget] = {}
    business_hours: BusinessHours | None = None  # None: the clock runs day and night
    reminder_minutes: PositiveInt = 30  # a reminder in the case thread this long (on the clock) before breach
