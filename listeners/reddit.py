"""Reddit listener over platforms/reddit: subreddit posts and comments, search, inbox username mentions."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hark.brand import OwnAccounts
from hark.errors import ConfigError
from hark.records import Batch, Mention
from listeners.config import RedditListenerConfig
from platforms.pacing import Quota
from platforms.reddit import NAME, RedditSecrets
from platforms.reddit.client import RedditApi
from platforms.reddit.payload import mention_from_thing

log = logging.getLogger(__name__)

PRAWCORE_MAX_PACE_S = 10.0  # prawcore never spaces two requests further apart than this


def _id36(thing: Mapping[str, Any]) -> int:
    data = thing.get("data") or {}
    fullname = str(data.get("name") or "")
    return int(str(data.get("id") or fullname.partition("_")[2] or "0"), 36)


@dataclass(frozen=True)
class Feed:
    key: str  # names the feed in the cursor
    path: str
    params: Mapping[str, str | int]


class RedditListener:
    """One listing page per fetch, feed after feed; the cursor keeps each feed's newest seen item.

    A feed's pass reads its newest page and pages back (`after`) until it meets an item it has
    already seen: a page with nothing seen means a gap, so the pass goes further back, up to
    `max_pages_back` pages. The pass's newest item becomes the feed's mark only when the pass ends,
    and the progress is committed with each page's mentions, so a crash neither loses nor repeats.
    """

    def __init__(self, api: RedditApi, cfg: RedditListenerConfig, own: OwnAccounts) -> None:
        self.name = cfg.name
        self.interval_s = cfg.interval_s
        self.api = api
        self._cfg = cfg
        self._own = own

    @classmethod
    def from_config(
        cls, cfg: RedditListenerConfig, secrets: RedditSecrets, own: OwnAccounts
    ) -> RedditListener:
        credentials = secrets.by_variable()
        required = ["REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_USER_AGENT"]
        if cfg.inbox_mentions:
            required += ["REDDIT_USERNAME", "REDDIT_PASSWORD"]
        missing = [name for name in required if not credentials.get(name)]
        if missing:
            raise ConfigError(f"sources.{cfg.name}: {', '.join(missing)} not set")
        if not cfg.subreddits and not cfg.search and not cfg.inbox_mentions:
            raise ConfigError(f"sources.{cfg.name}: name subreddits, a search or inbox_mentions")
        api = RedditApi.connect(
            credentials, oauth_url=cfg.oauth_url, reddit_url=cfg.reddit_url, timeout_s=cfg.timeout_s
        )
        return cls(api, cfg, own)

    def feeds(self) -> list[Feed]:
        params: dict[str, str | int] = {"limit": self._cfg.limit, "raw_json": 1}
        out = []
        for sub in self._cfg.subreddits:
            out.append(Feed(f"new:{sub}", f"/r/{sub}/new", params))
            out.append(Feed(f"comments:{sub}", f"/r/{sub}/comments", params))
        if self._cfg.search:
            query = {**params, "q": self._cfg.search, "sort": "new", "t": "all", "type": "link"}
            if self._cfg.search_subreddits:
                where = "+".join(self._cfg.search_subreddits)
                out.append(Feed(f"search:{where}", f"/r/{where}/search", {**query, "restrict_sr": 1}))
            else:
                out.append(Feed("search", "/search", query))
        if self._cfg.inbox_mentions:
            out.append(Feed("inbox:mentions", "/message/mentions", params))
        return out

    def _quota(self) -> tuple[Quota | None, datetime | None]:
        """Our pacing, never earlier than prawcore's own, so prawcore has no reason to sleep."""
        quota = self.api.quota()
        if quota is None:
            return None, None
        not_before = quota.next_request_at()
        if quota.limit and quota.remaining > 0:
            now = datetime.now(UTC)
            window = self.api.window_s
            to_reset = (quota.reset_at - now).total_seconds()
            used_n = quota.limit - quota.remaining
            pace = max(to_reset - (window - window / quota.limit * used_n), 0.0)
            if pace > 0:
                prawcore_at = now + timedelta(seconds=min(pace, PRAWCORE_MAX_PACE_S))
                not_before = max(not_before or prawcore_at, prawcore_at)
        return quota, not_before

    def fetch(self, cursor: str | None) -> Batch:
        state: dict[str, Any] = json.loads(cursor) if cursor and cursor.startswith('{"') else {}
        feeds = self.feeds()
        turn = int(state.get("turn", 0)) % len(feeds)
        feed = feeds[turn]
        all_feeds: dict[str, dict[str, Any]] = state.get("feeds") or {}
        progress = dict(all_feeds.get(feed.key) or {})
        if "mark" not in progress and "floor" not in progress:
            floor = datetime.now(UTC) - timedelta(hours=self._cfg.backfill_hours)
            progress["floor"] = floor.timestamp()
        params = dict(feed.params)
        if progress.get("after"):
            params["after"] = progress["after"]
        listing = self.api.listing(feed.path, params)
        children = [
            c for c in (listing.get("data") or {}).get("children") or () if c.get("kind") in ("t1", "t3")
        ]
        fresh = [c for c in children if not self._seen(c, progress)]
        mentions = [m for m in self._mentions(fresh) if m is not None]
        pages = int(progress.get("pages", 0)) + 1
        top: tuple[str, float] | None = None
        if progress.get("pass_top"):
            top = (str(progress["pass_top"]), float(progress["pass_top_utc"]))
        elif fresh:  # listings are newest first
            top = (str(fresh[0]["data"]["name"]), float(fresh[0]["data"]["created_utc"]))
        after = (listing.get("data") or {}).get("after")
        met_seen = len(fresh) < len(children)
        if met_seen or not after or not children or pages >= self._cfg.max_pages_back:
            if not met_seen and after and children:
                log.warning(
                    "reddit_gap listener=%s feed=%s pages=%d: older items may be missed",
                    self.name,
                    feed.key,
                    pages,
                )
            kept = {k: v for k, v in progress.items() if k in ("mark", "mark_utc", "floor")}
            progress = {"mark": top[0], "mark_utc": top[1]} if top is not None else kept
            turn += 1
        else:
            if top is not None:
                progress["pass_top"], progress["pass_top_utc"] = top
            progress["after"], progress["pages"] = str(after), pages
        all_feeds[feed.key] = progress
        more = "after" in progress or turn < len(feeds)
        quota, not_before = self._quota()
        return Batch(
            mentions=tuple(sorted(mentions, key=lambda m: (m.created_at, m.external_id))),
            cursor=json.dumps({"turn": turn % len(feeds), "feeds": all_feeds}, sort_keys=True),
            more=more,
            not_before=not_before,
            quota_remaining=quota.remaining if quota else None,
            quota_reset_at=quota.reset_at if quota else None,
        )

    @staticmethod
    def _seen(thing: Mapping[str, Any], progress: Mapping[str, Any]) -> bool:
        data = thing.get("data") or {}
        mark = progress.get("mark")
        if mark:
            if str(mark)[:2] == thing.get("kind"):  # ids of one kind grow with time
                return _id36(thing) <= int(str(mark).partition("_")[2], 36)
            return float(data.get("created_utc", 0)) < float(progress.get("mark_utc", 0))
        return float(data.get("created_utc", 0)) < float(progress.get("floor", 0))

    def _mentions(self, things: list[dict[str, Any]]) -> Iterator[Mention | None]:
        for thing in things:
            yield mention_from_thing(thing, source=self.name, brand_accounts=self._own.handles_on(NAME))
