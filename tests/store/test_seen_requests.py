"""A Slack interaction's key is kept with its change: both or neither (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from store.db import Sessions
from store.seen_requests import first_sight

KEY = "action:U1:approve_reply:case:1:1.1"


def failing_change(sessions: Sessions) -> None:
    with sessions.begin() as session:
        assert first_sight(session, KEY)
        raise RuntimeError("the change failed after the key was written")


def test_a_key_is_kept_only_with_a_change_that_commits(sessions: Sessions) -> None:
    with pytest.raises(RuntimeError):
        failing_change(sessions)
    with sessions.begin() as session:
        assert first_sight(session, KEY)  # not kept: the click may be tried again
        assert not first_sight(session, KEY)
    with sessions.begin() as session:
        assert not first_sight(session, KEY)  # kept with its change
