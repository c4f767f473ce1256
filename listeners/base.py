"""The listener contract."""

from __future__ import annotations

from typing import Protocol

from hark.records import Batch


class Listener(Protocol):
    """A source of brand mentions on one platform.

    fetch() MUST return mentions newer than `cursor`, oldest first, plus the cursor to pass next
    time, and set `more` when the source holds further items right now. It MAY return mentions
    already seen; the store drops them. It MUST raise TransientError, AuthError or
    PermanentError, never an SDK exception, and MUST NOT sleep or retry: the runner owns backoff.
    """

    name: str
    interval_s: int

    def fetch(self, cursor: str | None) -> Batch: ...
