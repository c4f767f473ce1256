"""Reddit listener through praw: new posts and comments of subreddits, and keyword search."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

import praw
import prawcore.exceptions as pe

from hark.errors import AuthError, ConfigError, PermanentError, TransientError
from hark.records import Batch, Mention
from listeners.config import RedditListenerConfig
from listeners.reddit_payload import mentions_from_listing

log = logging.getLogger(__name__)


@contextmanager
def translate_reddit_errors(what: str) -> Iterator[None]:
    """Translate praw's and prawcore's exceptions into Hark's, in this one place."""
    try:
        yield
    except pe.TooManyRequests as err:
        retry_after = err.response.headers.get("retry-after") or err.response.headers.get("x-ratelimit-reset")
        raise TransientError(
            f"reddit rate limited {what}", retry_after_s=float(retry_after) if retry_after else None
        ) from err
    except (pe.ServerError, pe.RequestException, pe.BadJSON) as err:
        raise TransientError(f"reddit unavailable while {what}: {err}") from err
    except (pe.OAuthException, pe.InvalidToken, pe.Forbidden, pe.InsufficientScope) as err:
        raise AuthError(f"reddit rejected the credentials while {what}: {err}") from err
    except (pe.ResponseException, praw.exceptions.RedditAPIException) as err:
        raise PermanentError(f"reddit refused {what}: {err}") from err


def call_reddit(what: str, reddit: praw.Reddit, path: str, params: dict[str, str | int]) -> Any:
    """GET a raw listing (no praw objects, so no lazy network calls later)."""
    with translate_reddit_errors(what):
        return reddit.request(method="GET", path=path, params=params)


class RedditListener:
    """Reads each feed's newest page; the store drops what it has seen, the cursor remembers the newest."""

    def __init__(
        self, reddit: praw.Reddit, cfg: RedditListenerConfig, *, brand_accounts: Collection[str]
    ) -> None:
        self.name = cfg.name
        self.interval_s = cfg.interval_s
        self.reddit = reddit
        self._cfg = cfg
        self._brand_accounts = brand_accounts

    @classmethod
    def from_config(
        cls, cfg: RedditListenerConfig, credentials: dict[str, str | None], *, brand_accounts: Collection[str]
    ) -> RedditListener:
        missing = [
            name
            for name, value in credentials.items()
            if not value and name in ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_USER_AGENT")
        ]
        if missing:
            raise ConfigError(f"sources.{cfg.name}: {', '.join(missing)} not set")
        if not cfg.subreddits and not cfg.search:
            raise ConfigError(f"sources.{cfg.name}: name subreddits, a search, or both")
        reddit = praw.Reddit(
            client_id=credentials["REDDIT_CLIENT_ID"],
            client_secret=credentials["REDDIT_CLIENT_SECRET"],
            username=credentials.get("REDDIT_USERNAME"),
            password=credentials.get("REDDIT_PASSWORD"),
            user_agent=credentials["REDDIT_USER_AGENT"],
            oauth_url=cfg.oauth_url,
            reddit_url=cfg.reddit_url,
            check_for_updates=False,
            check_for_async=False,
        )
        return cls(reddit, cfg, brand_accounts=brand_accounts)

    def feeds(self) -> list[tuple[str, dict[str, str | int]]]:
        params: dict[str, str | int] = {"limit": self._cfg.limit, "raw_json": 1}
        out = []
        for sub in self._cfg.subreddits:
            out.append((f"/r/{sub}/new", params))
            out.append((f"/r/{sub}/comments", params))
        if self._cfg.search:
            out.append(("/search", {**params, "q": self._cfg.search, "sort": "new"}))
        return out

    def fetch(self, cursor: str | None) -> Batch:
        seen: dict[str, str] = json.loads(cursor) if cursor else {}
        mentions: dict[str, Mention] = {}
        for path, params in self.feeds():
            listing = call_reddit(f"reading {path}", self.reddit, path, params)
            for mention in mentions_from_listing(
                listing, source=self.name, brand_accounts=self._brand_accounts
            ):
                mentions.setdefault(mention.external_id, mention)
            children = (listing.get("data") or {}).get("children") or []
            if children:
                seen[path] = str(children[0]["data"].get("name"))
        ordered = sorted(mentions.values(), key=lambda m: (m.created_at, m.external_id))
        return Batch(mentions=tuple(ordered), cursor=json.dumps(seen, sort_keys=True))
