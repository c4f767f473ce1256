"""Config models of each listener kind, joined in one discriminated union."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from hark.paths import ConfigPath


class ReplayListenerConfig(BaseModel):
    """Replays a file of platform-native JSON (X API v2 pages or Reddit listings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["replay"]
    name: str = Field(min_length=1, max_length=64)
    platform: Literal["x", "reddit"]
    path: ConfigPath
    interval_s: PositiveInt = 30
    page_size: PositiveInt = 50  # mentions handed over per fetch, so a long replay shows progress


class XListenerConfig(BaseModel):
    """X API v2 through tweepy: the brand account's mentions timeline or a recent-search query."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["x"]
    name: str = Field(min_length=1, max_length=64)
    mode: Literal["mentions", "search"] = "search"
    query: str | None = Field(default=None, max_length=512)  # X recent-search limit
    user_id: str | None = None  # the brand account, for mode: mentions
    interval_s: PositiveInt = 60
    max_results: int = Field(default=100, ge=10, le=100)
    api_base_url: str = "https://api.x.com"


class RedditListenerConfig(BaseModel):
    """Reddit through praw: new posts and comments of subreddits, or a search."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["reddit"]
    name: str = Field(min_length=1, max_length=64)
    subreddits: tuple[str, ...] = ()
    search: str | None = None
    interval_s: PositiveInt = 60
    limit: int = Field(default=100, ge=1, le=100)
    oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = "https://www.reddit.com"


ListenerConfig = Annotated[
    ReplayListenerConfig | XListenerConfig | RedditListenerConfig, Field(discriminator="type")
]
