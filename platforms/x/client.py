"""X's API through tweepy: the only module that imports tweepy. Clients, error translation, the reply call."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy

from hark.errors import AuthError, PermanentError, TransientError
from platforms.pacing import Quota

TWEEPY_HOST = "https://api.twitter.com"  # tweepy hard-codes it (tweepy/client.py)
DEFAULT_TIMEOUT_S = 30.0
CLOCK_SKEW = timedelta(minutes=1)  # our clock and X's may differ: look back a little further


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


ACCESS_PROBLEMS = (
    "client-forbidden",
    "unsupported-authentication",
    "oauth1-permissions",
    "client-not-enrolled",
)


def is_access_problem(response: requests.Response) -> bool:
    """A 403 about the app's access tier or permissions, not about one request (X's problem types)."""
    try:
        problem = response.json()
    except ValueError:
        return True  # no problem document: assume the worst, a person must look
    if not isinstance(problem, dict):
        return True
    kind = f"{problem.get('type', '')} {problem.get('reason', '')}"
    return any(name in kind for name in ACCESS_PROBLEMS)


def problem_detail(response: requests.Response) -> str:
    try:
        problem = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    return (
        str(problem.get("detail") or problem.get("title") or response.status_code)
        if isinstance(problem, dict)
        else ""
    )


def call_x(what: str, func: Any, *args: Any, per_request: bool = False, **kwargs: Any) -> Any:
    """Call a tweepy method and translate its exceptions into Hark's, in this one place.

    With `per_request` (posting), a 403 that is about this request (duplicate text, a reply X does not
    allow) is a PermanentError for it alone; only an access or permission problem is an AuthError.
    """
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
        if per_request:
            raise AuthError(
                f"x rejected the posting credentials (HTTP 401) while {what}: check X_API_KEY, X_API_SECRET, "
                "X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET"
            ) from err
        raise AuthError(f"x rejected the bearer token (HTTP 401) while {what}: check X_BEARER_TOKEN") from err
    except tweepy.Forbidden as err:
        if per_request and not is_access_problem(err.response):
            raise PermanentError(f"x refused {what}: {problem_detail(err.response)}") from err
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


def quota_from_x_headers(headers: dict[str, str]) -> Quota | None:
    """X: x-rate-limit-remaining, x-rate-limit-limit, x-rate-limit-reset (epoch seconds)."""
    try:
        remaining = int(headers["x-rate-limit-remaining"])
        reset = datetime.fromtimestamp(int(headers["x-rate-limit-reset"]), tz=UTC)
    except (KeyError, ValueError):
        return None
    limit = headers.get("x-rate-limit-limit")
    return Quota(remaining, reset, int(limit) if limit and limit.isdigit() else None)


class XApi:
    """The X API v2 calls Hark makes, on one tweepy Client; tweepy's types stay inside this module."""

    def __init__(self, client: tweepy.Client) -> None:
        self._client = client

    @classmethod
    def reading(cls, base_url: str, timeout_s: float, bearer_token: str) -> XApi:
        return cls(make_reading_client(base_url, timeout_s, bearer_token))

    @classmethod
    def posting(cls, base_url: str, **credentials: str) -> XApi:
        return cls(make_client(base_url, **credentials))

    def search_recent(
        self, query: str, token: str | None, params: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """One page of recent search: its JSON and its lower-cased headers."""
        response = call_x("searching", self._client.search_recent_tweets, query, next_token=token, **params)
        return read_page("reading a page", response)

    def user_mentions(
        self, user_id: str, token: str | None, params: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """One page of an account's mentions timeline: its JSON and its lower-cased headers."""
        response = call_x(
            "reading mentions", self._client.get_users_mentions, user_id, pagination_token=token, **params
        )
        return read_page("reading a page", response)

    def find_reply(self, in_reply_to: str, since: datetime) -> str | None:
        """Our account's reply to `in_reply_to` posted since `since`, or None when X shows none.

        Raises PermanentError when X shows more of our posts since then than one page holds: a person checks.
        """
        me = call_x("looking up our account", self._client.get_me, user_auth=True)
        page = call_x(
            "reading our recent posts",
            self._client.get_users_tweets,
            str(me["data"]["id"]),
            start_time=since - CLOCK_SKEW,
            max_results=100,
            tweet_fields=["referenced_tweets", "created_at"],
            user_auth=True,
        )
        for tweet in page.get("data") or ():
            for ref in tweet.get("referenced_tweets") or ():
                if ref.get("type") == "replied_to" and str(ref.get("id")) == in_reply_to:
                    return str(tweet["id"])
        if (page.get("meta") or {}).get("next_token"):
            raise PermanentError("x shows more than 100 of our posts since the reply was sent: check by hand")
        return None

    def post_reply(self, in_reply_to: str, text: str) -> str:
        """Post `text` as a reply to the tweet `in_reply_to` (user-context auth); the new tweet's id."""
        response = call_x(
            f"replying to {in_reply_to}",
            self._client.create_tweet,
            text=text,
            in_reply_to_tweet_id=in_reply_to,
            user_auth=True,
            per_request=True,
        )
        return str(response["data"]["id"])
