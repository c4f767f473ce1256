"""Live replies get a real client per platform, and refuse to start without the posting credentials."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.config import AppConfig
from app.delivery import deliver_pending
from app.pipeline import poll_once
from hark.errors import AuthError, ConfigError, PermanentError
from hark.records import ReplyDraft
from responders.reddit import RedditReplyResponder
from responders.registry import build_reply_responders
from responders.x import XReplyResponder
from store.db import Sessions
from store.models import MentionRow, ReplyRow
from store.replies import queue_reply
from tests import builders
from tests.builders import mention
from tests.fake_platforms import FakeX
from tests.fakes import ListListener

LIVE_SOURCES = [
    {"type": "x", "name": "x-live", "query": "@NimbusCycles"},
    {"type": "reddit", "name": "reddit-live", "subreddits": ["NimbusCycles"]},
]


def live(app_config: AppConfig) -> AppConfig:
    data = app_config.model_dump()
    data["sources"] = LIVE_SOURCES
    data["responders"]["replies"]["dry_run"] = False
    return AppConfig.model_validate(data)


def test_live_replies_use_the_platform_clients(
    app_config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("X_BEARER_TOKEN", "X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"):
        monkeypatch.setenv(name, f"test-{name.lower()}")
    for name in ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_USERNAME", "REDDIT_PASSWORD"):
        monkeypatch.setenv(name, f"test-{name.lower()}")
    monkeypatch.setenv("REDDIT_USER_AGENT", "hark-tests by u/test")
    repliers = build_reply_responders(False, live(app_config).sources)
    assert isinstance(repliers["x"], XReplyResponder)
    assert isinstance(repliers["reddit"], RedditReplyResponder)


def test_live_reddit_replies_need_the_account_login(
    app_config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"):
        monkeypatch.setenv(name, "test")
    monkeypatch.setenv("REDDIT_CLIENT_ID", "id")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "secret")
    monkeypatch.setenv("REDDIT_USER_AGENT", "hark-tests")
    monkeypatch.delenv("REDDIT_USERNAME", raising=False)
    monkeypatch.delenv("REDDIT_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="REDDIT_USERNAME, REDDIT_PASSWORD not set"):
        build_reply_responders(False, live(app_config).sources)


def test_dry_run_never_builds_a_platform_client(app_config: AppConfig) -> None:
    repliers = build_reply_responders(app_config.responders.replies.dry_run, app_config.sources)
    assert {type(r).__name__ for r in repliers.values()} == {"ConsoleReplyResponder"}


def x_replier(fake: FakeX, key: str = "test-x_api_key") -> XReplyResponder:
    return XReplyResponder.from_credentials(
        fake.url, consumer_key=key, consumer_secret="s", access_token="t", access_token_secret="ts"
    )


def draft(reply_id: int, text: str, in_reply_to: str = "1850000000000000001") -> ReplyDraft:
    return ReplyDraft(
        reply_id=reply_id, platform="x", in_reply_to=in_reply_to, author_handle="ann", text=text,
        idempotency_key=f"reply:x:{reply_id}",
    )  # fmt: skip


def test_x_replies_post_through_tweepy_and_a_duplicate_is_refused_for_that_reply_only(fake_x: FakeX) -> None:
    replier = x_replier(fake_x)
    posted = replier.deliver(draft(1, "Thank you, @ann!"))
    assert [(p["id"], p["text"], p["in_reply_to"]) for p in fake_x.posted] == [
        (posted, "Thank you, @ann!", "1850000000000000001")
    ]
    with pytest.raises(PermanentError, match="duplicate content"):  # X's own words, for this reply
        replier.deliver(draft(2, "Thank you, @ann!"))
    assert replier.deliver(draft(3, "Thank you so much, @ann!")) != posted  # the replier goes on


def test_an_x_access_problem_stops_the_replier(fake_x: FakeX) -> None:
    fake_x.posting_forbidden = True
    with pytest.raises(AuthError, match=r"x refused access \(HTTP 403\)"):
        x_replier(fake_x).deliver(draft(1, "hi"))
    fake_x.posting_forbidden = False
    with pytest.raises(AuthError, match="X_API_KEY"):
        x_replier(fake_x, key="revoked").deliver(draft(1, "hi"))


def test_a_refused_reply_fails_alone_and_the_delivery_goes_on(fake_x: FakeX, sessions: Sessions) -> None:
    poll_once(
        ListListener("src", [mention(n, author=f"a{n}") for n in (1, 2, 3)]),
        sessions,
        builders.own_accounts(),
    )
    with sessions.begin() as session:
        for row in session.scalars(sa.select(MentionRow).order_by(MentionRow.id)):
            text = "Thank you!" if row.external_id != "1003" else "Thanks a lot!"  # 1001 and 1002 alike
            queue_reply(session, row, text, template="thanks", status="approved", approved_by="auto")
    assert deliver_pending(sessions, {"x": x_replier(fake_x)}, False, 10) == 2
    with sessions() as session:
        statuses = {r.mention_id: (r.status, r.error) for r in session.scalars(sa.select(ReplyRow))}
    assert sorted(s for s, _ in statuses.values()) == ["failed", "sent", "sent"]
    [(_, error)] = [v for v in statuses.values() if v[0] == "failed"]
    assert (
        error == "x refused replying to 1002: You are not allowed to create a Tweet with duplicate content."
    )
    assert len(fake_x.posted) == 2


def test_a_rejected_posting_token_stops_delivery_and_the_reply_waits(
    fake_x: FakeX, sessions: Sessions
) -> None:
    poll_once(ListListener("src", [mention(1)]), sessions, builders.own_accounts())
    with sessions.begin() as session:
        row = session.scalars(sa.select(MentionRow)).one()
        queue_reply(session, row, "Thanks!", template="thanks", status="approved", approved_by="auto")
    with pytest.raises(AuthError):
        deliver_pending(sessions, {"x": x_replier(fake_x, key="revoked")}, False, 10)
    with sessions() as session:
        assert session.scalars(sa.select(ReplyRow.status)).one() == "approved"  # not sending, not failed
    assert deliver_pending(sessions, {"x": x_replier(fake_x)}, False, 10) == 1
