"""X API v2 listener over platforms/x: the brand account's mentions timeline or a recent-search query."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hark.brand import OwnAccounts
from hark.errors import ConfigError, PermanentError
from hark.records import Batch
from hark.secrets import reveal
from listeners.config import XListenerConfig
from platforms.x import NAME, XSecrets
from platforms.x.client import XApi, quota_from_x_headers
from platforms.x.payload import mentions_from_page, newest_id

log = logging.getLogger(__name__)

SEARCH_WINDOW = timedelta(days=7) - timedelta(minutes=5)  # recent search refuses older start_time
TWEET_FIELDS = [
    "created_at",
    "author_id",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "lang",
    "entities",
    "public_metrics",
    "reply_settings",  # who may reply: a card says when X would refuse ours
]
USER_FIELDS = ["username", "name", "verified", "public_metrics", "description", "url", "created_at"]
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]


@dataclass
class XCursor:
    """Progress through X's newest-first pages, committed with each page's mentions.

    A pass starts at the newest post and pages back (pagination token, with `until_id` as the
    fallback) until it reaches `since_id`; only then does `since_id` move up to the pass's newest
    post. A crash mid-pass resumes at the next page: posts newer than the pass wait for the next
    pass, older ones are still ahead. `start_time` bounds the first pass (the backfill window).
    """

    since_id: str | None = None
    start_time: str | None = None
    pass_newest: str | None = None
    token: str | None = None
    until_id: str | None = None

    @classmethod
    def load(cls, raw: str | None) -> XCursor:
        if not raw:
            return cls()
        if raw.isdigit():  # the foundation stored a bare since_id
            return cls(since_id=raw)
        data = json.loads(raw)
        return cls(
            since_id=data.get("since_id"),
            start_time=data.get("start_time"),
            pass_newest=data.get("pass_newest"),
            token=data.get("token"),
            until_id=data.get("until_id"),
        )

    def dump(self) -> str:
        data = {
            "since_id": self.since_id,
            "start_time": self.start_time,
            "pass_newest": self.pass_newest,
            "token": self.token,
            "until_id": self.until_id,
        }
        return json.dumps({k: v for k, v in data.items() if v is not None}, sort_keys=True)


class XListener:
    """One page per fetch, newest first within a pass; the cursor records the progress of the pass."""

    def __init__(self, api: XApi, cfg: XListenerConfig, own: OwnAccounts) -> None:
        self.name = cfg.name
        self.interval_s = cfg.interval_s
        self._api = api
        self._cfg = cfg
        self._own = own

    @classmethod
    def from_config(cls, cfg: XListenerConfig, secrets: XSecrets, own: OwnAccounts) -> XListener:
        bearer_token = reveal(secrets.bearer_token)
        if not bearer_token:
            raise ConfigError(f"sources.{cfg.name}: X_BEARER_TOKEN is not set")
        if cfg.mode == "search" and not cfg.query:
            raise ConfigError(f"sources.{cfg.name}.query: required for mode: search")
        if cfg.mode == "mentions" and not cfg.user_id:
            raise ConfigError(f"sources.{cfg.name}.user_id: required for mode: mentions")
        return cls(XApi.reading(cfg.api_base_url, cfg.timeout_s, bearer_token), cfg, own)

    def _request(self, params: Mapping[str, Any], token: str | None) -> tuple[dict[str, Any], dict[str, str]]:
        common: dict[str, Any] = {
            "expansions": EXPANSIONS,
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
            "max_results": self._cfg.max_results,
            **params,
        }
        if self._cfg.mode == "search":
            assert self._cfg.query is not None  # noqa: S101  # from_config requires it
            return self._api.search_recent(self._cfg.query, token, common)
        assert self._cfg.user_id is not None  # noqa: S101  # from_config requires it
        return self._api.user_mentions(self._cfg.user_id, token, common)

    def _first_start(self) -> str:
        now = datetime.now(UTC)
        start = now - timedelta(hours=self._cfg.backfill_hours)
        if self._cfg.mode == "search":
            start = max(start, now - SEARCH_WINDOW)
        return start.isoformat()

    def fetch(self, cursor: str | None) -> Batch:
        state = XCursor.load(cursor)
        if state.since_id is None and state.start_time is None:
            state.start_time = self._first_start()
        params: dict[str, Any] = {}
        if state.since_id is not None:
            params["since_id"] = state.since_id
        else:
            assert state.start_time is not None  # noqa: S101  # set just above
            start = datetime.fromisoformat(state.start_time)
            if self._cfg.mode == "search":  # a quiet week must not push start_time out of the window
                start = max(start, datetime.now(UTC) - SEARCH_WINDOW)
            params["start_time"] = start
        try:
            page, headers = self._request(params, state.token)
        except PermanentError:
            if state.token is None or state.until_id is None:
                raise
            # pagination tokens can expire between a crash and the restart; until_id pages the same way
            log.warning("x_token_rejected listener=%s resuming_below=%s", self.name, state.until_id)
            page, headers = self._request({**params, "until_id": state.until_id}, None)
        mentions = mentions_from_page(
            page, source=self.name, brand_handles=self._own.handles_on(NAME), brand_ids=self._own.ids_on(NAME)
        )
        meta = page.get("meta") or {}
        ids = [m.external_id for m in mentions]
        state.pass_newest = newest_id([i for i in (state.pass_newest, meta.get("newest_id"), *ids) if i])
        next_token = meta.get("next_token")
        if next_token and ids:
            state.token, state.until_id = str(next_token), min(ids, key=int)
        else:  # the pass reached since_id (or the backfill start): later passes start above its newest
            if state.pass_newest is not None:
                state.since_id, state.start_time = state.pass_newest, None
            state.pass_newest = state.token = state.until_id = None
        quota = quota_from_x_headers(headers)
        return Batch(
            mentions=tuple(reversed(mentions)),  # X is newest first; the store wants oldest first
            cursor=state.dump(),
            more=state.token is not None,
            not_before=quota.next_request_at() if quota else None,
            quota_remaining=quota.remaining if quota else None,
            quota_reset_at=quota.reset_at if quota else None,
        )
