"""Reddit replies through the real praw client aimed at the fake Reddit: a comment is posted once, found again
after a crash by its parent, and Reddit's refusal of that one comment fails that reply only."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import prawcore.rate_limit
import prawcore.sessions
import pytest
import sqlalchemy as sa
import time_machine

from app.delivery import deliver_pending
from app.pipeline import poll_once
from hark.errors import AuthError, PermanentError, TransientError
from hark.records import ReplyDraft
from listeners.config import RedditListenerConfig
from listeners.reddit import RedditListener
from platforms.reddit import RedditSecrets
from platforms.reddit.client import RedditApi
from responders.reddit import RedditReplyResponder
from store.db import Sessions
from store.models import MentionRow, ReplyRow
from store.replies import queue_reply
from tests import builders
from tests.conftest import SHARED
from tests.fake_platforms import FakeReddit, Fault, FaultPlan
from tests.fakes import ListListener

ACCOUNT = "NimbusCycles_Team"
CREDENTIALS: dict[str, str | None] = {
    "REDDIT_CLIENT_ID": "client-id",
    "REDDIT_CLIENT_SECRET": "client-secret",
    "REDDIT_USERNAME": ACCOUNT,
    "REDDIT_PASSWORD": "pw",
    "REDDIT_USER_AGENT": "hark-tests/0.1 by u/NimbusCycles_Team",
}
LOCKED: list[str | None] = [
    "THREAD_LOCKED",
    "Comments are locked.",
    "parent",
]  # Reddit's [code, message, field]


class PrawcoreClock:
    """prawcore's view of the `time` module, whose sleeps (its retry backoff, its pacing) are recorded
    instead of waited; the fake's own threads keep the real clock."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    clock = PrawcoreClock()
    monkeypatch.setattr(prawcore.sessions, "time", clock)
    monkeypatch.setattr(prawcore.rate_limit, "time", clock)
    return clock.slept


def replier(fake: FakeReddit, timeout_s: int = 5, **overrides: str | None) -> RedditReplyResponder:
    api = RedditApi.connect(
        {**CREDENTIALS, **overrides}, oauth_url=fake.url, reddit_url=fake.url, timeout_s=timeout_s
    )
    return RedditReplyResponder(api)


def draft(reply_id: int, in_reply_to: str, text: str = "Thanks, u/ann!") -> ReplyDraft:
    return ReplyDraft(
        reply_id=reply_id,
        platform="reddit",
        in_reply_to=in_reply_to,
        author_handle="ann",
        text=text,
        idempotency_key=f"reply:reddit:{in_reply_to}",
    )


def recorded_comment() -> dict[str, Any]:
    """The t1 thing of a recorded POST /api/comment answer."""
    cassette = json.loads((SHARED / "fixtures/praw/TestSubmission.test_reply.json").read_text())
    [answer] = [
        json.loads(i["response"]["body"]["string"])
        for i in cassette["interactions"]
        if i["request"]["uri"].startswith("https://oauth.reddit.com/api/comment")
    ]
    assert answer["json"]["errors"] == []
    [thing] = answer["json"]["data"]["things"]
    return dict(thing)


def test_a_reply_is_a_comment_under_its_parent_in_the_recorded_shape(fake_reddit: FakeReddit) -> None:
    posted = replier(fake_reddit).deliver(draft(1, "t3_abc12", "Thank you, u/ann! Enjoy the ride."))
    [thing] = fake_reddit.comments
    assert posted == thing["data"]["name"]
    assert posted.startswith("t1_")
    assert (thing["data"]["parent_id"], thing["data"]["body"], thing["data"]["author"]) == (
        "t3_abc12",
        "Thank you, u/ann! Enjoy the ride.",  # read from praw's form-encoded body
        ACCOUNT,
    )
    recorded = recorded_comment()
    assert thing["kind"] == recorded["kind"]
    assert set(thing["data"]) - {"author_fullname"} == set(recorded["data"])  # no invented fields
    assert [p for p, _ in fake_reddit.requests] == ["/api/v1/access_token", "/api/comment"]


def test_our_comment_is_found_by_its_parent_since_the_send_with_a_minute_of_clock_skew(
    fake_reddit: FakeReddit,
) -> None:
    reddit = replier(fake_reddit)
    sent_at = datetime.now(UTC)
    assert reddit.find(draft(1, "t3_abc12"), sent_at) is None  # nothing yet: certainly absent
    posted = reddit.deliver(draft(1, "t3_abc12"))
    assert reddit.find(draft(1, "t3_abc12"), sent_at) == posted
    assert reddit.find(draft(2, "t3_other"), sent_at) is None  # another parent
    # our clock may run ahead of Reddit's by up to a minute: a comment 30 s "before" the send still counts
    assert reddit.find(draft(1, "t3_abc12"), sent_at + timedelta(seconds=30)) == posted
    assert reddit.find(draft(1, "t3_abc12"), sent_at + timedelta(minutes=2)) is None  # older than `since`
    paths = {p for p, _ in fake_reddit.requests}
    assert f"/user/{ACCOUNT}/comments" in paths
    [(_, query)] = [r for r in fake_reddit.requests if r[0] == f"/user/{ACCOUNT}/comments"][:1]
    assert (query["sort"], query["limit"]) == (["new"], ["100"])


def test_an_earlier_comment_under_the_same_parent_is_not_this_reply(fake_reddit: FakeReddit) -> None:
    now = datetime.now(UTC)
    old = fake_reddit.comment("t3_abc12", "Thanks last week", author=ACCOUNT, created=now - timedelta(days=7))
    fake_reddit.comment("t3_abc12", "Someone else", author="ann", created=now)  # not ours
    reddit = replier(fake_reddit)
    assert reddit.find(draft(1, "t3_abc12"), now) is None
    assert reddit.find(draft(1, "t3_abc12"), now - timedelta(days=8)) == old["data"]["name"]


def test_more_of_our_comments_since_the_send_than_a_page_shows_means_a_person_checks(
    fake_reddit: FakeReddit,
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=5)
    for n in range(101):
        fake_reddit.comment(f"t3_p{n}", f"Thanks #{n}", author=ACCOUNT, created=since + timedelta(seconds=n))
    reddit = replier(fake_reddit)
    assert reddit.find(draft(1, "t3_p100"), since) is not None  # on the first page, newest first
    with pytest.raises(PermanentError, match="more than 100 of our comments"):
        reddit.find(draft(2, "t3_p0"), since)  # beyond it: Reddit cannot tell us here


def test_reddits_refusal_of_one_comment_is_permanent_for_that_reply(fake_reddit: FakeReddit) -> None:
    fake_reddit.refusals["t3_locked"] = LOCKED
    reddit = replier(fake_reddit)
    with pytest.raises(PermanentError, match="THREAD_LOCKED") as refused:
        reddit.deliver(draft(1, "t3_locked"))
    assert "Comments are locked." in str(refused.value)  # Reddit's own words
    assert fake_reddit.comments == []
    assert reddit.deliver(draft(2, "t3_open")).startswith("t1_")  # the replier goes on


def test_a_locked_thread_fails_its_reply_alone_and_delivery_goes_on(
    fake_reddit: FakeReddit, sessions: Sessions
) -> None:
    own = builders.own_accounts(reddit=(ACCOUNT,))
    mentions = [
        builders.mention(n, "hi u/NimbusCycles_Team", platform="reddit", author=f"a{n}") for n in (1, 2, 3)
    ]
    poll_once(ListListener("src", mentions), sessions, own)
    fake_reddit.refusals["t3_2"] = LOCKED
    with sessions.begin() as session:
        for row in session.scalars(sa.select(MentionRow).order_by(MentionRow.id)):
            queue_reply(
                session,
                row,
                f"Thanks, u/{row.author_handle}!",
                template="t",
                status="approved",
                approved_by="auto",
            )
    assert deliver_pending(sessions, {"reddit": replier(fake_reddit)}, False, 10) == 2
    with sessions() as session:
        rows = {
            m.external_id: (r.status, r.error, r.platform_post_id)
            for r, m in session.execute(
                sa.select(ReplyRow, MentionRow).join(MentionRow, MentionRow.id == ReplyRow.mention_id)
            ).tuples()
        }
    assert [rows[t][0] for t in ("t3_1", "t3_2", "t3_3")] == ["sent", "failed", "sent"]
    assert "THREAD_LOCKED" in (rows["t3_2"][1] or "")
    assert {c["data"]["parent_id"]: c["data"]["name"] for c in fake_reddit.comments} == {
        "t3_1": rows["t3_1"][2],
        "t3_3": rows["t3_3"][2],
    }


def test_a_5xx_on_the_comment_is_transient_and_prawcore_does_not_post_again() -> None:
    fake = FakeReddit(faults=FaultPlan(scripted={2: "503"})).start()  # 1 is the token request
    try:
        with pytest.raises(TransientError, match="ServerError"):
            replier(fake).deliver(draft(1, "t3_abc12"))
    finally:
        fake.stop()
    assert fake.faults_served["503"] == 1
    assert [p for p, _ in fake.requests].count("/api/comment") == 1  # one attempt: the outbox decides
    assert fake.comments == []


def test_a_429_on_the_comment_waits_and_posts_nothing() -> None:
    fake = FakeReddit(faults=FaultPlan(scripted={2: "429"})).start()
    try:
        with pytest.raises(TransientError, match="rate limited") as limited:
            replier(fake).deliver(draft(1, "t3_abc12"))
    finally:
        fake.stop()
    assert limited.value.retry_after_s == 2
    assert fake.comments == []


def test_a_revoked_token_or_an_app_without_the_account_login_is_an_auth_error(
    fake_reddit: FakeReddit,
) -> None:
    fake_reddit.refuse_tokens = True
    with pytest.raises(AuthError):
        replier(fake_reddit).deliver(draft(1, "t3_abc12"))
    fake_reddit.refuse_tokens = False
    app_only = replier(fake_reddit, REDDIT_USERNAME=None, REDDIT_PASSWORD=None)
    with pytest.raises(AuthError, match="HTTP 403"):
        app_only.deliver(draft(1, "t3_abc12"))
    with pytest.raises(PermanentError, match="REDDIT_USERNAME"):
        app_only.find(draft(1, "t3_abc12"), datetime.now(UTC))
    assert fake_reddit.comments == []


def once(fault: Fault) -> Callable[[], Fault | None]:
    """An on_post hook: the first comment is stored and then answered with `fault`, later ones normally."""
    left = [fault]
    return lambda: left.pop() if left else None


def test_a_comment_reddit_stored_but_answered_with_a_5xx_is_not_posted_again_by_prawcore(
    fake_reddit: FakeReddit,
) -> None:
    fake_reddit.on_post = once("503")
    with pytest.raises(TransientError):
        replier(fake_reddit).deliver(draft(1, "t3_abc12"))
    assert len(fake_reddit.comments) == 1  # Reddit has it, though it said 503


def queue_one(sessions: Sessions, author: str = "ann") -> int:
    """A reddit mention with an approved reply; the reply's id."""
    own = builders.own_accounts(reddit=(ACCOUNT,))
    mention = builders.mention(1, "hi u/NimbusCycles_Team", platform="reddit", author=author)
    poll_once(ListListener("src", [mention]), sessions, own)
    with sessions.begin() as session:
        row = session.scalars(sa.select(MentionRow)).one()
        queue_reply(session, row, f"Thanks, u/{author}!", template="t", status="approved", approved_by="auto")
        session.flush()
        return int(session.scalars(sa.select(ReplyRow.id)).one())


def test_a_comment_reddit_stored_but_answered_with_a_5xx_is_not_posted_again_by_the_outbox(
    fake_reddit: FakeReddit, sessions: Sessions
) -> None:
    reply_id = queue_one(sessions)
    reddit = replier(fake_reddit)
    fake_reddit.on_post = once("503")
    assert deliver_pending(sessions, {"reddit": reddit}, False, 10) == 0  # transient: retried later
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2)):  # past any backoff
        deliver_pending(sessions, {"reddit": reddit}, False, 10)  # asks Reddit first: it has the comment
    [comment] = fake_reddit.comments  # Reddit has no duplicate check: a blind retry would post twice
    with sessions() as session:
        reply = session.get_one(ReplyRow, reply_id)
        assert (reply.status, reply.platform_post_id) == ("sent", comment["data"]["name"])


def test_timeout_s_bounds_a_reddit_request(fake_reddit: FakeReddit) -> None:
    fake_reddit.faults.timeout_delay_s = 2.5  # the answer to the first comment arrives after 2.5 s
    fake_reddit.on_post = once("timeout")
    started = time.perf_counter()
    with contextlib.suppress(TransientError):
        replier(fake_reddit, timeout_s=1).deliver(draft(1, "t3_abc12"))
    assert time.perf_counter() - started < 2.0


def test_our_reply_read_back_from_the_subreddit_is_not_recorded_twice(
    fake_reddit: FakeReddit, sessions: Sessions
) -> None:
    own = builders.own_accounts(reddit=(ACCOUNT,))
    queue_one(sessions)
    assert deliver_pending(sessions, {"reddit": replier(fake_reddit)}, False, 10) == 1
    [comment] = fake_reddit.comments  # it is in r/NimbusCycles/comments now, as on Reddit
    cfg = RedditListenerConfig.model_validate(
        {
            "type": "reddit",
            "name": "reddit",
            "subreddits": ["NimbusCycles"],
            "oauth_url": fake_reddit.url,
            "reddit_url": fake_reddit.url,
        }
    )
    listener = RedditListener.from_config(cfg, RedditSecrets.model_validate(CREDENTIALS), own)
    for _ in range(5):  # one request a fetch: new posts, then new comments
        if not poll_once(listener, sessions, own).more:
            break
    with sessions() as session:
        replies = [(r.status, r.platform_post_id) for r in session.scalars(sa.select(ReplyRow))]
    assert replies == [("sent", comment["data"]["name"])]


def test_reddits_ratelimit_on_a_comment_is_a_wait_not_a_refusal(fake_reddit: FakeReddit) -> None:
    fake_reddit.refusals["t3_busy"] = [
        "RATELIMIT",
        "you are doing that too much. try again in 5 minutes.",
        "ratelimit",
    ]
    with pytest.raises(TransientError, match="RATELIMIT") as limited:
        replier(fake_reddit).deliver(draft(1, "t3_busy"))
    assert limited.value.retry_after_s == 300
    assert fake_reddit.comments == []
