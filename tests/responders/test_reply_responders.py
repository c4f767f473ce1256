"""Live replies get a real client per platform, and refuse to start without the posting credentials."""

from __future__ import annotations

import pytest

from app.config import AppConfig
from hark.errors import ConfigError
from responders.reddit import RedditReplyResponder
from responders.registry import build_reply_responders
from responders.x import XReplyResponder

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
