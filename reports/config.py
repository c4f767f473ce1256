"""Config of the weekly report and the alerts (`reports:` in config.yaml); times are in brand.timezone."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from hark.paths import ConfigPath

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class SpikeConfig(BaseModel):
    """A spike: this many hours hold far more posts than the same hours of the previous weeks did."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    window_hours: PositiveInt = 3
    baseline_weeks: int = Field(default=6, ge=3, le=26)  # fewer than 3 makes a median of noise
    sensitivity: float = Field(default=3.5, gt=0)  # robust z-score (median and MAD) that raises an alert
    min_count: PositiveInt = 10  # never an alert for fewer posts than this in the window
    cooldown_hours: PositiveInt = 6  # no second alert of the same kind this soon
    check_every_minutes: PositiveInt = 15


class SilenceConfig(BaseModel):
    """A source is silent when its polls stop succeeding, or when it stops finding posts for far longer than
    it usually goes without one."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    poll_multiple: float = Field(default=4.0, gt=1)  # no successful poll for this many poll intervals
    quiet_multiple: float = Field(default=8.0, gt=1)  # no new post for this many of its usual gaps...
    min_quiet_hours: float = Field(default=6.0, gt=0)  # ...and at least this long
    history_days: PositiveInt = 14  # the usual gap is learned from this many days of posts


class ReportsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    weekday: Weekday = "mon"  # the weekly report is built then, for the last complete ISO week
    at: time = time(9, 0)
    channel: str = "#hark-reports"  # the summary and charts go here (Slack)
    alerts_channel: str = "#hark-alerts"  # spikes and silent sources
    out_dir: ConfigPath = Path("var/reports")  # one folder per week: report.html, report.json, PNGs
    trend_weeks: int = Field(default=12, ge=2, le=104)
    max_topics: int = Field(default=12, ge=1, le=50)
    min_topic_size: int = Field(default=3, ge=2)
    top_posts: int = Field(default=5, ge=1, le=50)
    spikes: SpikeConfig = SpikeConfig()
    silence: SilenceConfig = SilenceConfig()
