"""X API v2 listener through tweepy's Client: mentions timeline or recent search."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy

from hark.errors import AuthError, ConfigError, PermanentError, TransientError
from hark.records import Batch
from listeners.config import XListenerConfig
from listeners.pacing import quota_from_x_headers
from listeners.x_payload import mentions_from_page, newest_id

log = logging.getLogger(__name__)

TWEEPY_HOST = "https://api.twitter.com"  # tweepy hard-codes it (tweepy/client.py)
DEFAULT_TIMEOUT_S = 30.0
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
]
USER_FIELDS = ["username", "name", "verified", "public_metrics", "description", "url", "created_at"]
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]


class BaseURLAdapter(requests.adapters.HTTPAdapter):
    """Sends tweepy's requests to `base_url` instead of X's fixed host, with a timeout tweepy never sets."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        request.url = str(request.url).replace(TWEEPY_HOST, self.base_url, 1)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout_s
        return super().send(request, *args, **kwargs)


def seconds_until(reset_epoch: int | None) -> float | None:
    if not reset_epoch:
        return None
    return max(0.0, reset_epoch - datetime.now(UTC).timestamp())


def make_client(base_url: str, **credentials: str | None) -> tweepy.Client:
    """A tweepy Client aimed at `base_url` that returns parsed JSON (the reply responder uses it)."""
    client = tweepy.Client(**credentials, return_type=dict, wait_on_rate_limit=False)
    client.session.mount(TWEEPY_HOST, BaseURLAdapter(base_url, DEFAULT_TIMEOUT_S))
    return client


def make_reading_client(base_url: str, timeout_s: float, bearer_token: str) -> tweepy.Client:
    """A tweepy Client that returns raw responses (we read the rate-limit headers) and never sleeps."""
    client = tweepy.Client(bearer_token=bearer_token, return_type=requests.Response, wait_on_rate_limit=False)
    client.session.mount(TWEEPY_HOST, BaseURLAdapter(base_url, timeout_s))
    return client


def call_x(what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a tweepy method and translate its exceptions into Hark's, in this one place."""
    try:
        response = func(*args, **kwargs)
    except tweepy.TooManyRequests as err:  # X sends x-rate-limit-reset, not Retry-After
        reset = err.response.headers.get("x-rate-limit-reset")
        raise TransientError(
            f"x rate limited {what}", retry_after_s=seconds_until(int(reset) if reset else None)
        ) from err
    except tweepy.TwitterServerError as err:
        raise TransientError(f"x unavailable while {what}: HTTP {err.response.status_code}") from err
    except tweepy.Unauthorized as err:
        raise AuthError(f"x rejected the bearer token (HTTP 401) while {what}: check X_BEARER_TOKEN") from err
    except tweepy.Forbidden as err:
        raise AuthError(
            f"x refused access (HTTP 403) while {what}: the app's access tier may not include this endpoint"
        ) from err
    except tweepy.HTTPException as err:
        raise PermanentError(f"x refused {what}: {err}") from err
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as err:
        raise PermanentError(f"x api_base_url is not usable: {err}") from err
    except (requests.RequestException, json.JSONDecodeError) as err:
        # timeouts, refused or reset connections, broken chunked bodies: the network, not us
        raise TransientError(f"x unavailable while {what}: {type(err).__name__}") from err
    return response


def read_page(what: str, response: object) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON body and the lower-cased headers of a raw response."""
    if not isinstance(response, requests.Response):
        raise PermanentError(f"tweepy returned {type(response).__name__}, expected a raw response")
    try:
        page = response.json()
    except (requests.JSONDecodeError, ValueError) as err:
        raise TransientError(f"x sent a malformed body while {what}") from err
    if not isinstance(page, dict):
        raise TransientError(f"x sent an unexpected body while {what}")
    return page, {k.lower(): v for k, v in response.headers.items()}


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
        client = make_reading_client(cfg.api_base_url, cfg.timeout_s, bearer_token)
        return cls(client, cfg, brand_handles=brand_handles, brand_ids=brand_ids)

    def _request(self, params: Mapping[str, Any], token: str | None) -> object:
        common: dict[str, Any] = {
            "expansions": EXPANSIONS,
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
            "max_results": self._cfg.max_results,
            **params,
        }
        if self._cfg.mode == "search":
            return call_x(
                "searching", self._client.search_recent_tweets, self._cfg.query, next_token=token, **common
            )
        return call_x(
            "reading mentions",
            self._client.get_users_mentions,
            self._cfg.user_id,
            pagination_token=token,
            **common,
        )

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
            response = self._request(params, state.token)
        except PermanentError:
            if state.token is None or state.until_id is None:
                raise
            # pagination tokens can expire between a crash and the restart; until_id pages the same way
            log.warning("x_token_rejected listener=%s resuming_below=%s", self.name, state.until_id)
            response = self._request({**params, "until_id": state.until_id}, None)
        page, headers = read_page("reading a page", response)
        mentions = mentions_from_page(
            page, source=self.name, brand_handles=self._brand_handles, brand_ids=self._brand_ids
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
