"""Config models of each listener kind, joined in one discriminated union."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt

from hark.paths import ConfigPath
from platforms.reddit import RedditConnection
from platforms.registry import known_platform
from platforms.x import XConnection


class MentionFilterConfig(BaseModel):
    """Which fetched posts become mentions; the same rules for every source (listeners/filters.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    include_terms: tuple[str, ...] = ()  # keep only posts naming one of these (or addressing our accounts)
    exclude_terms: tuple[str, ...] = ()  # drop posts with these unless they address our accounts
    blocked_authors: tuple[str, ...] = ()  # handles or user ids, case-insensitive
    min_followers: NonNegativeInt = 0  # where the platform reports follower counts
    languages: tuple[str, ...] = ()  # platform language codes to keep; posts with no language are kept


class ReplayListenerConfig(BaseModel):
    """Replays a file of platform-native JSON pages (X API v2 pages, Reddit listings, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["replay"]
    name: str = Field(min_length=1, max_length=64)
    platform: Annotated[str, AfterValidator(known_platform)]  # whose page format the file holds
    path: ConfigPath
    interval_s: PositiveInt = 30
    page_size: PositiveInt = 50  # mentions handed over per fetch, so a long replay shows progress
    filters: MentionFilterConfig = MentionFilterConfig()


class XListenerConfig(XConnection):
    """X API v2 through tweepy: the brand account's mentions timeline or a recent-search query."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["x"]
    name: str = Field(min_length=1, max_length=64)
    mode: Literal["mentions", "search"] = "search"
    query: str | None = Field(default=None, max_length=512)  # X recent-search limit
    user_id: str | None = None  # the brand account, for mode: mentions
    interval_s: PositiveInt = 60
    max_results: int = Field(default=100, ge=10, le=100)
    backfill_hours: float = Field(default=24.0, ge=0, le=24 * 7)  # first start; recent search keeps 7 days
    filters: MentionFilterConfig = MentionFilterConfig()


class RedditListenerConfig(RedditConnection):
    """Reddit through praw: new posts and comments of subreddits, a search, and inbox username mentions."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["reddit"]
    name: str = Field(min_length=1, max_length=64)
    subreddits: tuple[str, ...] = ()  # each polls its new posts and its new comments
    search: str | None = Field(default=None, max_length=512)  # sorted by new
    search_subreddits: tuple[str, ...] = ()  # restrict the search to these; empty searches all of Reddit
    inbox_mentions: bool = False  # the account's /u/ mentions; needs REDDIT_USERNAME and REDDIT_PASSWORD
    interval_s: PositiveInt = 60
    limit: int = Field(default=100, ge=1, le=100)
    backfill_hours: float = Field(default=24.0, ge=0)  # first start: how far back to read
    max_pages_back: int = Field(default=10, ge=1, le=10)  # gap search depth; Reddit lists ~1,000 items
    filters: MentionFilterConfig = MentionFilterConfig()


ListenerConfig = Annotated[
    ReplayListenerConfig | XListenerConfig | RedditListenerConfig, Field(discriminator="type")
]
