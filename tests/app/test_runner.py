"""The listener job backs off, logs only state changes, and stops on auth errors."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app.runner import ListenerJob, backoff
from hark.errors import AuthError
from hark.records import Batch
from store.db import Sessions
from store.models import MentionRow, SourceHealthRow
from tests import builders
from tests.builders import mention
from tests.fakes import ListListener

OWN = builders.own_accounts()


class RevokedListener:
    name = "revoked"
    interval_s = 60

    def fetch(self, cursor: str | None) -> Batch:
        raise AuthError("x rejected the bearer token")


def test_backoff_doubles_caps_and_respects_the_server() -> None:
    assert 4 <= backoff(1, None).total_seconds() <= 6
    assert 32 <= backoff(4, None).total_seconds() <= 48
    assert backoff(30, None).total_seconds() <= 900 * 1.2
    assert backoff(1, 600).total_seconds() == 600


def test_logs_first_failure_and_recovery_once(sessions: Sessions, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="app.runner")
    with time_machine.travel(datetime(2026, 7, 7, 9, 0, tzinfo=UTC), tick=False) as traveller:
        job = ListenerJob(ListListener("flaky", [mention(1)], failures=3), sessions, OWN)
        for _ in range(4):
            job()
            traveller.shift(timedelta(hours=1))  # past any backoff, without sleeping
    events = [r.getMessage().split()[0] for r in caplog.records]
    assert events == ["listener_failing", "listener_recovered", "poll_done"]
    with sessions() as session:
        health = session.get_one(SourceHealthRow, "flaky")
        assert (health.healthy, health.consecutive_failures, health.items_fetched) == (True, 0, 1)
        assert health.last_error == "flaky source"


def test_backoff_skips_polls_until_the_wait_is_over(sessions: Sessions) -> None:
    with time_machine.travel(datetime(2026, 7, 7, 9, 0, tzinfo=UTC), tick=False) as traveller:
        listener = ListListener("flaky", [mention(1)], failures=1)
        job = ListenerJob(listener, sessions, OWN)
        job()
        assert job.failures == 1
        traveller.shift(timedelta(seconds=0.5))
        assert job() == 0  # still waiting: the listener is not even asked
        assert job.failures == 1
        traveller.shift(timedelta(minutes=5))
        assert job() == 1


def test_auth_error_stops_the_source_and_marks_it_unhealthy(sessions: Sessions) -> None:
    job = ListenerJob(RevokedListener(), sessions, OWN)
    job()
    assert job.stopped
    with sessions() as session:
        health = session.get_one(SourceHealthRow, "revoked")
        assert not health.healthy
        assert health.last_error == "x rejected the bearer token"


def test_one_failing_source_does_not_stop_another(sessions: Sessions) -> None:
    ListenerJob(RevokedListener(), sessions, OWN)()
    assert ListenerJob(ListListener("fine", [mention(i) for i in range(15)]), sessions, OWN)() == 15
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(MentionRow)) == 15
