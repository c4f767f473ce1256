"""The Reddit listener, through the real praw client aimed at a fake Reddit (oauth_url, reddit_url)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine

from app.runner import ListenerJob
from hark.errors import AuthError
from hark.records import Batch
from listeners.config import RedditListenerConfig
from listeners.reddit import RedditListener
from platforms.reddit import RedditSecrets
from store.db import Sessions
from store.models import MentionRow
from store.status import pipeline_status
from tests import builders
from tests.conftest import SHARED
from tests.fake_platforms import FakeReddit, FaultPlan

OWN = builders.own_accounts(reddit=("NimbusCycles_Team",))
T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
CREDENTIALS: dict[str, str | None] = {
    "REDDIT_CLIENT_ID": "client-id",
    "REDDIT_CLIENT_SECRET": "client-secret",
    "REDDIT_USERNAME": "NimbusCycles_Team",
    "REDDIT_PASSWORD": "pw",
    "REDDIT_USER_AGENT": "hark-tests/0.1 by u/NimbusCycles_Team",
}


class Clock:
    """Simulated time for the runner's waits and for prawcore's own sleeps (as praw's tests patch them)."""

    def __init__(self, traveller: Any) -> None:
        self.traveller = traveller
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.traveller.shift(timedelta(seconds=seconds))
        return False

    def sleep(self, seconds: float) -> None:
        self.traveller.shift(timedelta(seconds=seconds))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    with time_machine.travel(T0, tick=False) as traveller:
        simulated = Clock(traveller)
        monkeypatch.setattr(time, "sleep", simulated.sleep)  # prawcore sleeps between retries
        yield simulated


def reddit_listener(fake: FakeReddit, name: str = "reddit", **overrides: Any) -> RedditListener:
    cfg = RedditListenerConfig.model_validate(
        {
            "type": "reddit",
            "name": name,
            "subreddits": ["NimbusCycles"],
            "oauth_url": fake.url,
            "reddit_url": fake.url,
            **overrides,
        }
    )
    return RedditListener.from_config(cfg, RedditSecrets.model_validate(CREDENTIALS), OWN)


def drain(listener: Any, sessions: Sessions, clock: Clock, *, failures: int = 6) -> ListenerJob:
    job = ListenerJob(listener, sessions, OWN, max_wait_s=960, max_failures=failures, wait=clock)
    job()
    return job


def stored(sessions: Sessions) -> set[str]:
    with sessions() as session:
        return set(session.scalars(sa.select(MentionRow.external_id)))


def test_fake_things_have_the_recorded_listing_shape() -> None:
    known: dict[str, set[str]] = {"t1": set(), "t3": set()}
    for cassette in (SHARED / "fixtures/praw").glob("*.json"):
        for interaction in json.loads(cassette.read_text())["interactions"]:
            try:
                body = json.loads(interaction["response"]["body"]["string"])
            except (ValueError, KeyError):
                continue
            if isinstance(body, dict) and body.get("kind") == "Listing":
                for child in body["data"]["children"]:
                    if child["kind"] in known:
                        known[child["kind"]] |= set(child["data"])
    known["t3"].add("author_fullname")  # recorded on 2019 things; the t3 recordings are from 2016
    fake = FakeReddit()
    fake.add("/r/NimbusCycles/new", "t3", 1)
    fake.add("/r/NimbusCycles/comments", "t1", 1)
    fake.add("/message/mentions", "t1", 1)
    for things in fake.feeds.values():
        assert set(things[0]["data"]) <= known[things[0]["kind"]]  # no invented fields


def test_posts_comments_search_and_inbox_arrive_and_a_restart_does_not_replay(
    fake_reddit: FakeReddit, sessions: Sessions, clock: Clock
) -> None:
    posts = fake_reddit.add("/r/NimbusCycles/new", "t3", 120, newest=T0)
    comments = fake_reddit.add("/r/NimbusCycles/comments", "t1", 30, newest=T0)
    inbox = fake_reddit.add("/message/mentions", "t1", 5, newest=T0)
    listener = reddit_listener(fake_reddit, search="nimbus", inbox_mentions=True)
    drain(listener, sessions, clock)
    assert stored(sessions) == set(posts + comments + inbox)
    paths = [path for path, _ in fake_reddit.requests if path != "/api/v1/access_token"]
    assert paths == [
        "/r/NimbusCycles/new",
        "/r/NimbusCycles/new",  # a page with nothing seen: the first start pages on to the window
        "/r/NimbusCycles/comments",
        "/search",
        "/search",
        "/message/mentions",
    ]
    fake_reddit.requests.clear()
    restarted = reddit_listener(fake_reddit, search="nimbus", inbox_mentions=True)  # a new process
    assert ListenerJob(restarted, sessions, OWN, max_wait_s=960, wait=clock)() == 0
    assert len([p for p, _ in fake_reddit.requests if p != "/api/v1/access_token"]) == 4  # one page a feed
    with sessions() as session:
        row = session.scalars(sa.select(MentionRow).where(MentionRow.external_id == inbox[0])).one()
    assert row.url.startswith("https://www.reddit.com/r/ebikes/comments/abc12/")
    assert row.conversation_id == "t3_abc12"


def test_a_poll_that_meets_nothing_seen_pages_back_to_close_the_gap(
    fake_reddit: FakeReddit, sessions: Sessions, clock: Clock
) -> None:
    fake_reddit.add("/r/NimbusCycles/new", "t3", 10, newest=T0 - timedelta(hours=2))
    listener = reddit_listener(fake_reddit, limit=25)
    drain(listener, sessions, clock)
    burst = fake_reddit.add("/r/NimbusCycles/new", "t3", 80, newest=T0)  # more than a page since
    fake_reddit.requests.clear()
    drain(listener, sessions, clock)
    assert set(burst) <= stored(sessions)
    afters = [q.get("after") for p, q in fake_reddit.requests if p == "/r/NimbusCycles/new"]
    assert len(afters) == 4
    assert afters[0] is None
    assert all(afters[1:])


def test_a_gap_deeper_than_reddit_lists_is_logged(
    fake_reddit: FakeReddit, sessions: Sessions, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    fake_reddit.add("/r/NimbusCycles/new", "t3", 3, newest=T0 - timedelta(hours=3))
    listener = reddit_listener(fake_reddit, limit=10, max_pages_back=2)
    drain(listener, sessions, clock)
    fake_reddit.add("/r/NimbusCycles/new", "t3", 50, newest=T0)
    caplog.set_level(logging.WARNING, logger="listeners.reddit")
    drain(listener, sessions, clock)
    assert "reddit_gap listener=reddit feed=new:NimbusCycles" in caplog.text


class CrashAfterFetch:
    def __init__(self, inner: RedditListener, crash_on: int) -> None:
        self.inner, self.name, self.interval_s = inner, inner.name, inner.interval_s
        self.crash_on, self.calls = crash_on, 0

    def fetch(self, cursor: str | None) -> Batch:
        self.calls += 1
        batch = self.inner.fetch(cursor)
        if self.calls == self.crash_on:
            raise KeyboardInterrupt
        return batch


def test_restart_after_a_crash_mid_pass_loses_nothing_and_duplicates_nothing(
    fake_reddit: FakeReddit, sessions: Sessions, clock: Clock
) -> None:
    posts = fake_reddit.add("/r/NimbusCycles/new", "t3", 450, newest=T0)
    comments = fake_reddit.add("/r/NimbusCycles/comments", "t1", 50, newest=T0)
    with pytest.raises(KeyboardInterrupt):
        drain(CrashAfterFetch(reddit_listener(fake_reddit), crash_on=3), sessions, clock)
    assert len(stored(sessions)) == 200
    newer = fake_reddit.add("/r/NimbusCycles/new", "t3", 20, newest=T0 + timedelta(minutes=20))
    job = drain(reddit_listener(fake_reddit), sessions, clock)
    job()
    with sessions() as session:
        total = session.scalar(sa.select(sa.func.count()).select_from(MentionRow))
    assert stored(sessions) == set(posts + comments + newer)
    assert total == len(posts) + len(comments) + len(newer)


def test_429_waits_for_the_reset_and_5xx_bad_json_and_resets_recover(
    sessions: Sessions, clock: Clock
) -> None:
    plan = FaultPlan(scripted={2: "429", 4: "503", 9: "malformed", 11: "reset", 13: "500"})
    fake = FakeReddit(faults=plan).start()
    try:
        posts = fake.add("/r/NimbusCycles/new", "t3", 700, newest=T0)
        job = drain(reddit_listener(fake), sessions, clock)
    finally:
        fake.stop()
    assert stored(sessions) == set(posts)
    assert sum(fake.faults_served.values()) == 5
    assert job.failures == 0


def test_rejected_credentials_stop_the_source_with_a_clear_message(sessions: Sessions, clock: Clock) -> None:
    fake = FakeReddit(client_secret="rotated").start()
    try:
        fake.add("/r/NimbusCycles/new", "t3", 3, newest=T0)
        listener = reddit_listener(fake)
        with pytest.raises(AuthError, match="reddit rejected the app credentials"):
            listener.fetch(None)
        job = drain(listener, sessions, clock)
    finally:
        fake.stop()
    assert job.stopped
    with sessions() as session:
        (status,) = pipeline_status(session, ["reddit"])["sources"]
    assert (status["healthy"], status["stopped"]) == (False, True)
    assert "HTTP 401" in status["last_error"]


def test_a_revoked_token_on_a_listing_is_an_auth_error(fake_reddit: FakeReddit, clock: Clock) -> None:
    listener = reddit_listener(fake_reddit)
    fake_reddit.refuse_tokens = True  # the token endpoint still answers; every listing says 401
    with pytest.raises(AuthError):
        listener.fetch(None)


def test_ten_percent_injected_faults_still_ingest_every_item(sessions: Sessions, clock: Clock) -> None:
    plan = FaultPlan(rate=0.10, kinds=("503", "500", "429", "malformed", "reset"), seed=5)
    fake = FakeReddit(faults=plan).start()
    try:
        items = [
            *fake.add("/r/NimbusCycles/new", "t3", 1000, newest=T0),
            *fake.add("/r/NimbusCycles/comments", "t1", 1000, newest=T0),
            *fake.add("/r/ebikes/new", "t3", 1000, newest=T0),
            *fake.add("/r/ebikes/comments", "t1", 1000, newest=T0),
        ]
        job = drain(
            reddit_listener(fake, subreddits=["NimbusCycles", "ebikes"]), sessions, clock, failures=10
        )
    finally:
        fake.stop()
    assert sum(fake.faults_served.values()) >= 3  # prawcore retries some 5xx itself, unseen by us
    assert stored(sessions) == set(items)
    assert job.failures == 0


def test_paced_polling_never_draws_a_429_from_450_requests_per_15_minutes(
    sessions: Sessions, clock: Clock
) -> None:
    fake = FakeReddit(limit=450, window_s=900).start()
    fake.window.start, fake.window.used = T0.timestamp() - 300, 420  # other clients of the app id
    try:
        items = [
            *fake.add("/r/NimbusCycles/new", "t3", 1000, newest=T0),
            *fake.add("/r/NimbusCycles/comments", "t1", 1000, newest=T0),
            *fake.add("/r/ebikes/new", "t3", 1000, newest=T0),
            *fake.add("/r/ebikes/comments", "t1", 1000, newest=T0),
        ]
        drain(reddit_listener(fake, subreddits=["NimbusCycles", "ebikes"]), sessions, clock)  # 40 pages
    finally:
        fake.stop()
    assert fake.refused_over_limit == 0
    assert stored(sessions) == set(items)
    assert sum(clock.waits) >= 590
