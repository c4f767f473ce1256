"""Config of what the store decides for each customer: segments, VIP rules, products, SLA times."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from hark.paths import ConfigPath

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


class SlaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    first_response_minutes: PositiveInt = 240
    vip_first_response_minutes: PositiveInt = 30
