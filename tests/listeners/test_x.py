"""The X listener, through the real tweepy Client aimed at a fake X API on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
import yaml

from app.runner import ListenerJob
from hark.errors import TransientError
from hark.records import Batch
from listeners.config import XListenerConfig
from listeners.x import XListener
from platforms.x import XSecrets
from store.db import Sessions
from store.mentions import load_cursor
from store.models import MentionRow, SourceHealthRow
from store.status import pipeline_status
from tests import builders
from tests.conftest import SHARED
from tests.fake_platforms import BRAND_ID, FakeX, FaultPlan

OWN = builders.own_accounts({"NimbusCycles": BRAND_ID})
T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


class Clock:
    """The runner's `wait`, moving simulated time instead of sleeping; it remembers every pause."""

    def __init__(self, traveller: Any) -> None:
        self.traveller = traveller
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.traveller.shift(timedelta(seconds=seconds))
        return False


@pytest.fixture
def clock() -> Iterator[Clock]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield Clock(traveller)


def x_listener(fake: FakeX, name: str = "x-mentions", **overrides: Any) -> XListener:
    cfg = XListenerConfig.model_validate(
        {
            "type": "x",
            "name": name,
            "mode": "mentions",
            "user_id": BRAND_ID,
            "api_base_url": fake.url,
            "timeout_s": 2,
            **overrides,
        }
    )
    return XListener.from_config(cfg, XSecrets(X_BEARER_TOKEN="test-token"), OWN)


def drain(listener: Any, sessions: Sessions, clock: Clock, *, failures: int = 6) -> ListenerJob:
    """`hark run --once` semantics: wait out limits and transient errors until the source is drained."""
    job = ListenerJob(listener, sessions, OWN, max_wait_s=960, max_failures=failures, wait=clock)
    job()
    return job


def stored_ids(sessions: Sessions) -> list[str]:
    with sessions() as session:
        return list(session.scalars(sa.select(MentionRow.external_id).order_by(MentionRow.id)))


def test_fake_tweets_have_the_recorded_v2_shape() -> None:
    recorded = json.loads((SHARED / "fixtures/python-twitter/testdata/models/tweet.json").read_text())
    user = json.loads((SHARED / "fixtures/python-twitter/testdata/models/user.json").read_text())
    cassette = yaml.safe_load((SHARED / "fixtures/tweepy/test_client_get_users_mentions.yaml").read_text())
    page = json.loads(gzip.decompress(cassette["interactions"][0]["response"]["body"]["string"]))
    fake = FakeX()
    fake.add_mentions(1)
    tweet = next(iter(fake.tweets.values()))
    known = set(recorded) | set(page["data"][0])
    for sample in (SHARED / "fixtures/python-twitter/testdata/apis").rglob("*.json"):
        data = json.loads(sample.read_text()).get("data")
        known |= {key for item in (data if isinstance(data, list) else [data]) if item for key in item}
    # reply_settings is a documented v2 tweet field (docs.x.com, the Post object) that Hark asks for in
    # tweet.fields; the recorded samples predate it
    known.add("reply_settings")
    assert set(tweet) <= known  # no invented fields
    assert set(next(iter(fake.users.values()))) <= set(user)
    assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(
        cassette["interactions"][0]["response"]["headers"]
    )


def test_mentions_page_back_with_expansions_and_a_second_run_fetches_nothing(
    fake_x: FakeX, sessions: Sessions, clock: Clock
) -> None:
    ids = fake_x.add_mentions(250, newest=T0 - timedelta(minutes=1))
    job = drain(x_listener(fake_x), sessions, clock)
    assert sorted(stored_ids(sessions), key=int) == ids
    requests = [q for _, q in fake_x.requests]
    assert len(requests) == 3  # 100 + 100 + 50
    assert requests[0]["expansions"][0].split(",")[0] == "author_id"
    assert "pagination_token" in requests[1]
    with sessions() as session:
        row = session.scalars(sa.select(MentionRow)).first()
        assert row is not None
        assert row.author_handle.startswith("rider")
        assert row.author_followers is not None
        assert row.mentions_brand_account
        cursor = json.loads(load_cursor(session, "x-mentions") or "{}")
    assert cursor == {"since_id": ids[-1]}
    fake_x.requests.clear()
    assert job() == 0
    assert len(fake_x.requests) == 1
    assert fake_x.requests[0][1]["since_id"] == [ids[-1]]


def test_first_start_backfills_only_the_configured_window(
    fake_x: FakeX, sessions: Sessions, clock: Clock
) -> None:
    old = fake_x.add_mentions(5, newest=T0 - timedelta(hours=30))
    recent = fake_x.add_mentions(5, newest=T0 - timedelta(hours=1))
    drain(x_listener(fake_x, backfill_hours=6), sessions, clock)
    assert set(stored_ids(sessions)) == set(recent)
    assert not set(old) & set(stored_ids(sessions))


def test_search_mode_sends_the_query(fake_x: FakeX, sessions: Sessions, clock: Clock) -> None:
    fake_x.add_mentions(12, newest=T0)
    query = '"nimbus cycles" OR @NimbusCycles -is:retweet lang:en'
    drain(x_listener(fake_x, "x-search", mode="search", query=query, max_results=10), sessions, clock)
    assert len(stored_ids(sessions)) == 12
    assert [q["query"] for _, q in fake_x.requests] == [[query], [query]]
    assert "next_token" in fake_x.requests[1][1]


class CrashAfterFetch:
    """A process that dies after the network call and before its commit, on the n-th fetch."""

    def __init__(self, inner: XListener, crash_on: int) -> None:
        self.inner, self.name, self.interval_s = inner, inner.name, inner.interval_s
        self.crash_on, self.calls = crash_on, 0

    def fetch(self, cursor: str | None) -> Batch:
        self.calls += 1
        batch = self.inner.fetch(cursor)
        if self.calls == self.crash_on:
            raise KeyboardInterrupt  # nothing of this page is committed
        return batch


def test_restart_after_a_crash_mid_pass_loses_nothing_and_duplicates_nothing(
    fake_x: FakeX, sessions: Sessions, clock: Clock
) -> None:
    first = fake_x.add_mentions(500, newest=T0 - timedelta(minutes=5))
    with pytest.raises(KeyboardInterrupt):
        drain(CrashAfterFetch(x_listener(fake_x), crash_on=3), sessions, clock)
    assert len(stored_ids(sessions)) == 200  # pages 1 and 2 committed with their cursor
    newer = fake_x.add_mentions(30, newest=T0, spacing=timedelta(seconds=5))  # posted while we were down
    served_before = len(fake_x.requests)
    job = drain(x_listener(fake_x), sessions, clock)  # a new process, same database
    resumed = fake_x.requests[served_before][1]
    assert "pagination_token" in resumed  # picked up at the page that was lost, not from the top
    assert sorted(stored_ids(sessions), key=int) == first  # the interrupted pass is complete
    job()  # the next poll starts above the pass's newest post
    assert sorted(stored_ids(sessions), key=int) == sorted(first + newer, key=int)
    with sessions() as session:
        cursor = json.loads(load_cursor(session, "x-mentions") or "{}")
    assert cursor == {"since_id": newer[-1]}


def test_an_expired_pagination_token_resumes_below_the_last_page(
    fake_x: FakeX, sessions: Sessions, clock: Clock
) -> None:
    ids = fake_x.add_mentions(300, newest=T0)
    with pytest.raises(KeyboardInterrupt):
        drain(CrashAfterFetch(x_listener(fake_x), crash_on=2), sessions, clock)
    fake_x.token_epoch += 1  # every token issued before the restart is now refused with a 400
    drain(x_listener(fake_x), sessions, clock)
    assert sorted(stored_ids(sessions), key=int) == ids


def test_429_waits_until_the_reset_then_resumes(sessions: Sessions, clock: Clock) -> None:
    fake = FakeX(faults=FaultPlan(scripted={2: "429"}), injected_429_reset_s=120).start()
    try:
        ids = fake.add_mentions(300, newest=T0)
        job = drain(x_listener(fake), sessions, clock)
    finally:
        fake.stop()
    assert sorted(stored_ids(sessions), key=int) == ids
    assert max(clock.waits) >= 119  # waited for the reset, not a blind 5 s retry
    assert job.failures == 0


@pytest.mark.parametrize("fault", ["503", "500", "malformed", "reset", "timeout"])
def test_transient_errors_back_off_and_recover(fault: str, sessions: Sessions, clock: Clock) -> None:
    fake = FakeX(faults=FaultPlan(scripted={1: fault}, timeout_delay_s=0.3)).start()
    try:
        ids = fake.add_mentions(150, newest=T0)
        listener = x_listener(fake, timeout_s=0.1)
        with pytest.raises(TransientError):
            listener.fetch(None)
        job = drain(listener, sessions, clock)
    finally:
        fake.stop()
    assert sorted(stored_ids(sessions), key=int) == ids
    assert job.failures == 0


def test_401_stops_the_source_with_a_clear_message_and_others_go_on(
    fake_x: FakeX, sessions: Sessions, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    fake_x.add_mentions(20, newest=T0)
    cfg = XListenerConfig(
        type="x", name="x-revoked", mode="mentions", user_id=BRAND_ID, api_base_url=fake_x.url
    )
    revoked = XListener.from_config(cfg, XSecrets(X_BEARER_TOKEN="revoked-token"), builders.own_accounts())
    caplog.set_level(logging.ERROR, logger="app.runner")
    job = drain(revoked, sessions, clock)
    assert job.stopped
    assert job() == 0  # never asked again in this process
    assert len(fake_x.requests) == 1
    drain(x_listener(fake_x), sessions, clock)
    assert len(stored_ids(sessions)) == 20
    with sessions() as session:
        status = {s["name"]: s for s in pipeline_status(session, ["x-revoked", "x-mentions"])["sources"]}
    assert status["x-revoked"]["healthy"] is False
    assert status["x-revoked"]["stopped"] is True
    assert "X_BEARER_TOKEN" in status["x-revoked"]["last_error"]
    assert "revoked-token" not in caplog.text
    assert status["x-mentions"]["healthy"] is True
    assert status["x-mentions"]["items_fetched"] == 20
    assert status["x-mentions"]["quota_remaining"] == 449  # a refused token does not count


def test_ten_percent_injected_faults_still_ingest_every_item(sessions: Sessions, clock: Clock) -> None:
    plan = FaultPlan(rate=0.10, kinds=("503", "500", "429", "malformed", "reset"), seed=11)
    fake = FakeX(faults=plan).start()
    try:
        ids = fake.add_mentions(1200, newest=T0)
        job = drain(x_listener(fake, max_results=20), sessions, clock, failures=10)
    finally:
        fake.stop()
    with sessions() as session:
        health = session.get_one(SourceHealthRow, "x-mentions")
    assert not job.stopped, health.last_error
    assert sum(fake.faults_served.values()) >= 4  # of about 65 requests
    assert sorted(stored_ids(sessions), key=int) == ids
    assert job.failures == 0


def test_paced_polling_never_draws_a_429_from_450_requests_per_15_minutes(
    sessions: Sessions, clock: Clock
) -> None:
    fake = FakeX(limit=450, window_s=900).start()
    fake.window.start, fake.window.used = T0.timestamp() - 300, 400  # other clients used most of it
    try:
        ids = fake.add_mentions(800, newest=T0, spacing=timedelta(seconds=1))
        job = drain(x_listener(fake, max_results=10), sessions, clock)  # 80 requests: past the window
    finally:
        fake.stop()
    assert fake.refused_over_limit == 0
    assert fake.statuses["429"] == 0
    assert len(stored_ids(sessions)) == len(ids)
    assert sum(clock.waits) >= 590  # it waited for the next window rather than hammer this one
    with sessions() as session:
        health = session.get_one(SourceHealthRow, "x-mentions")
        assert health.consecutive_failures == 0
    assert job.failures == 0
