"""A platform's rate-limit window, and the earliest time of the next request it allows.

Each platform's client turns its own headers into a Quota.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

RESERVE = 1  # requests kept back for other sources sharing the token, and for clock skew
SPREAD_BELOW = 0.2  # with less than this share of the window left, spread the rest evenly
RESET_MARGIN_S = 1.0  # the platform's reset second is rounded; wait one more


@dataclass(frozen=True, slots=True)
class Quota:
    """One rate-limit window as the platform reported it in its last response."""

    remaining: int
    reset_at: datetime
    limit: int | None = None

    def next_request_at(self, now: datetime | None = None) -> datetime | None:
        """None when the next request may go at once; else when it may.

        Full speed while the window has room, evenly spaced once it runs low, and at the reset once
        only the reserve is left: used fully, never exceeded.
        """
        now = now or datetime.now(UTC)
        if self.remaining <= RESERVE:  # a reset "0 s" away is rounded down: it may still be ahead
            return max(self.reset_at, now) + timedelta(seconds=RESET_MARGIN_S)
        if self.reset_at <= now:
            return None
        if self.limit is None or self.remaining < self.limit * SPREAD_BELOW:
            return now + (self.reset_at - now) / (self.remaining - RESERVE)
        return None
