"""X API v2 listener through tweepy's Client: mentions timeline or recent search."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import requests
import tweepy

from hark.errors import AuthError, ConfigError, PermanentError, TransientError
from hark.records import Batch, Mention
from listeners.config import XListenerConfig
from listeners.x_payload import mentions_from_page, newest_id

log = logging.getLogger(__name__)

TWEEPY_HOST = "https://api.twitter.com"  # tweepy hard-codes it (tweepy/client.py)
MAX_PAGES_PER_FETCH = 100
TWEET_FIELDS = [
    "created_at",
    "author_id",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "lang",
    "entities",
    "public_metrics",
]
USER_FIELDS = ["username", "name", "verified", "public_metrics", "description", "url", "created_at"]
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]


class BaseURLAdapter(requests.adapters.HTTPAdapter):
    """Sends tweepy's requests to `base_url` instead of X's fixed host: a gateway or a local fake."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        request.url = str(request.url).replace(TWEEPY_HOST, self.base_url, 1)
        return super().send(request, *args, **kwargs)


def seconds_until(reset_epoch: int | None) -> float | None:
    if not reset_epoch:
        return None
    return max(0.0, reset_epoch - datetime.now(UTC).timestamp())


def make_client(base_url: str, **credentials: str | None) -> tweepy.Client:
    client = tweepy.Client(**credentials, return_type=dict, wait_on_rate_limit=False)
    if base_url.rstrip("/") != TWEEPY_HOST:
        client.session.mount(TWEEPY_HOST, BaseURLAdapter(base_url))
    return client


def call_x(what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a tweepy method and translate its exceptions into Hark's, in this one place."""
    try:
        return func(*args, **kwargs)
    except tweepy.TooManyRequests as err:  # X sends x-rate-limit-reset, not Retry-After
        reset = err.response.headers.get("x-rate-limit-reset")
        raise TransientError(
            f"x rate limited {what}", retry_after_s=seconds_until(int(reset) if reset else None)
        ) from err
    except tweepy.TwitterServerError as err:
        raise TransientError(f"x unavailable while {what}: {err}") from err
    except (tweepy.Unauthorized, tweepy.Forbidden) as err:
        raise AuthError(f"x rejected the credentials while {what}: {err}") from err
    except tweepy.HTTPException as err:
        raise PermanentError(f"x refused {what}: {err}") from err
    except (
        requests.ConnectionError,
        requests.Timeout,
        json.JSONDecodeError,
        requests.JSONDecodeError,
    ) as err:
        raise TransientError(f"x unavailable while {what}: {err}") from err


class XListener:
    """Pages back from the newest post to the cursor (`since_id`); the cursor moves once all pages came."""

    def __init__(
        self,
        client: tweepy.Client,
        cfg: XListenerConfig,
        *,
        brand_handles: Collection[str],
        brand_ids: Collection[str],
    ) -> None:
        self.name = cfg.name
        self.interval_s = cfg.interval_s
        self._client = client
        self._cfg = cfg
        self._brand_handles = brand_handles
        self._brand_ids = brand_ids

    @classmethod
    def from_config(
        cls,
        cfg: XListenerConfig,
        bearer_token: str | None,
        *,
        brand_handles: Collection[str],
        brand_ids: Collection[str],
    ) -> XListener:
        if not bearer_token:
            raise ConfigError(f"sources.{cfg.name}: X_BEARER_TOKEN is not set")
        if cfg.mode == "search" and not cfg.query:
            raise ConfigError(f"sources.{cfg.name}.query: required for mode: search")
        if cfg.mode == "mentions" and not cfg.user_id:
            raise ConfigError(f"sources.{cfg.name}.user_id: required for mode: mentions")
        client = make_client(cfg.api_base_url, bearer_token=bearer_token)
        return cls(client, cfg, brand_handles=brand_handles, brand_ids=brand_ids)

    def _page(self, cursor: str | None, token: str | None) -> dict[str, Any]:
        common: dict[str, Any] = {
            "expansions": EXPANSIONS,
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
            "max_results": self._cfg.max_results,
            "since_id": cursor,
        }
        if self._cfg.mode == "search":
            page = call_x(
                "searching", self._client.search_recent_tweets, self._cfg.query, next_token=token, **common
            )
        else:
            page = call_x(
                "reading mentions",
                self._client.get_users_mentions,
                self._cfg.user_id,
                pagination_token=token,
                **common,
            )
        if not isinstance(page, dict):
            raise TransientError(f"x sent an unexpected body to {self.name}")
        return page

    def fetch(self, cursor: str | None) -> Batch:
        mentions: list[Mention] = []
        token: str | None = None
        for _ in range(MAX_PAGES_PER_FETCH):
            page = self._page(cursor, token)
            mentions += mentions_from_page(
                page, source=self.name, brand_handles=self._brand_handles, brand_ids=self._brand_ids
            )
            token = (page.get("meta") or {}).get("next_token")
            if not token:
                break
        mentions.reverse()  # the API is newest first; the store wants oldest first
        newest = newest_id([m.external_id for m in mentions])
        return Batch(mentions=tuple(mentions), cursor=newest or cursor, more=token is not None)
