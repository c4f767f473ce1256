"""Reddit's API through praw: the only module that imports praw. The client, error translation, replies."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import praw
import prawcore
import prawcore.exceptions as pe
from prawcore.sessions import FiniteRetryStrategy

from hark.errors import AuthError, PermanentError, TransientError
from platforms.pacing import Quota

CLOCK_SKEW = timedelta(minutes=1)  # our clock and Reddit's may differ: look back a little further


@contextmanager
def translate_reddit_errors(what: str) -> Iterator[None]:
    """Translate praw's and prawcore's exceptions into Hark's, in this one place."""
    try:
        yield
    except pe.TooManyRequests as err:
        headers = err.response.headers
        retry_after = headers.get("retry-after") or headers.get("x-ratelimit-reset")
        raise TransientError(
            f"reddit rate limited {what}", retry_after_s=float(retry_after) if retry_after else None
        ) from err
    except (pe.ServerError, pe.RequestException, pe.BadJSON) as err:
        raise TransientError(f"reddit unavailable while {what}: {type(err).__name__}") from err
    except (pe.OAuthException, pe.InvalidToken, pe.InsufficientScope) as err:
        raise AuthError(
            f"reddit rejected the credentials while {what}: check the REDDIT_* variables ({err})"
        ) from err
    except pe.Forbidden as err:
        raise AuthError(f"reddit refused access (HTTP 403) while {what}: a private or banned feed?") from err
    except pe.Redirect as err:  # reddit redirects an unknown subreddit to its search page
        raise PermanentError(f"reddit has no such feed: {what}") from err
    except pe.ResponseException as err:
        if err.response.status_code in (401, 403):  # the token endpoint answers a bad client id this way
            raise AuthError(
                f"reddit rejected the app credentials (HTTP {err.response.status_code}) while {what}"
            ) from err
        raise PermanentError(f"reddit refused {what}: {err}") from err
    except praw.exceptions.RedditAPIException as err:
        raise PermanentError(f"reddit refused {what}: {err}") from err


class TimeoutRequestor(prawcore.Requestor):  # type: ignore[misc]  # prawcore ships no type information
    """prawcore's requestor, held to the timeout it was built with."""

    def request(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        return super().request(*args, timeout=self.timeout, **kwargs)


def make_reddit(
    credentials: Mapping[str, str | None], *, oauth_url: str, reddit_url: str, timeout_s: int
) -> praw.Reddit:
    """A praw client from explicit arguments only: no praw.ini, no praw_* environment variables."""
    return praw.Reddit(
        client_id=credentials["REDDIT_CLIENT_ID"],
        client_secret=credentials["REDDIT_CLIENT_SECRET"],
        username=credentials.get("REDDIT_USERNAME"),
        password=credentials.get("REDDIT_PASSWORD"),
        user_agent=credentials["REDDIT_USER_AGENT"],
        oauth_url=oauth_url.rstrip("/"),
        reddit_url=reddit_url.rstrip("/"),
        timeout=timeout_s,
        # praw keeps `timeout` in its config only; prawcore would use its own 16 s for every request
        requestor_class=TimeoutRequestor,
        requestor_kwargs={"timeout": timeout_s},
        check_for_updates=False,
        check_for_async=False,
    )


def quota_from_reddit(remaining: float | None, used: int | None, reset_epoch: float | None) -> Quota | None:
    """Reddit: x-ratelimit-remaining (a float), -used, and -reset (seconds to go), as prawcore keeps them."""
    if remaining is None or reset_epoch is None:
        return None
    limit = int(remaining) + used if used is not None else None
    return Quota(int(remaining), datetime.fromtimestamp(reset_epoch, tz=UTC), limit)


class OneAttempt(FiniteRetryStrategy):  # type: ignore[misc]  # prawcore ships no type information
    """prawcore's retry strategy, allowing no retry."""

    def __init__(self, retries: int = 1) -> None:
        super().__init__(retries)


class RedditApi:
    """The Reddit calls Hark makes, on one praw client; praw's types stay inside this module."""

    def __init__(self, reddit: praw.Reddit) -> None:
        self._reddit = reddit

    @classmethod
    def connect(
        cls, credentials: Mapping[str, str | None], *, oauth_url: str, reddit_url: str, timeout_s: int
    ) -> RedditApi:
        return cls(make_reddit(credentials, oauth_url=oauth_url, reddit_url=reddit_url, timeout_s=timeout_s))

    def listing(self, path: str, params: Mapping[str, str | int]) -> dict[str, Any]:
        """One Listing page as Reddit's JSON; TransientError for any other body."""
        with translate_reddit_errors(f"reading {path}"):
            listing = self._reddit.request(method="GET", path=path, params=dict(params))
        if not isinstance(listing, dict) or listing.get("kind") != "Listing":
            raise TransientError(f"reddit sent an unexpected body for {path}")
        return listing

    def quota(self) -> Quota | None:
        """The rate-limit window as prawcore last saw it in Reddit's headers."""
        limits = self._reddit.auth.limits
        remaining, used, reset = limits.get("remaining"), limits.get("used"), limits.get("reset_timestamp")
        return quota_from_reddit(
            float(remaining) if remaining is not None else None,
            int(used) if used is not None else None,
            float(reset) if reset is not None else None,
        )

    @property
    def window_s(self) -> float:
        """The length of Reddit's rate-limit window, as prawcore paces to it."""
        return float(self._reddit.config.window_size)

    def find_comment(self, parent: str, since: datetime) -> str | None:
        """Our account's comment under `parent` made since `since`, or None when Reddit shows none.

        Raises PermanentError when more of our comments than one page holds were made since: a person checks.
        """
        username = self._reddit.config.username
        if not username:
            raise PermanentError("REDDIT_USERNAME is not set: cannot look up our own comments")
        path = f"/user/{username}/comments"
        listing = self.listing(path, {"limit": 100, "sort": "new", "raw_json": 1})
        children = (listing.get("data") or {}).get("children") or ()
        floor = (since - CLOCK_SKEW).timestamp()
        for thing in children:
            data = thing.get("data") or {}
            if data.get("parent_id") == parent and float(data.get("created_utc", 0)) >= floor:
                return str(data["name"])
        oldest = min((float((t.get("data") or {}).get("created_utc", 0)) for t in children), default=0.0)
        if (listing.get("data") or {}).get("after") and oldest >= floor:
            raise PermanentError(
                "reddit shows more than 100 of our comments since the reply was sent: check by hand"
            )
        return None

    def post_comment(self, thing_id: str, text: str) -> str:
        """Comment `text` under the post or comment `thing_id`; returns the new comment's fullname.

        One attempt only: prawcore retries a 5xx or a lost connection by itself, but Reddit may already
        hold the comment, so a retry could post it twice. The outbox decides about retries.
        """
        core = self._reddit._core  # prawcore's session: the only place its retries are set
        retries = core._retry_strategy_class
        core._retry_strategy_class = OneAttempt
        try:
            with translate_reddit_errors(f"replying to {thing_id}"):
                result: Any = self._reddit.request(
                    method="POST",
                    path="/api/comment",
                    data={"thing_id": thing_id, "text": text, "api_type": "json"},
                )
        finally:
            core._retry_strategy_class = retries
        try:
            things = result["json"]["data"]["things"]
            return str(things[0]["data"]["name"])
        except (KeyError, IndexError, TypeError) as err:
            errors = (result or {}).get("json", {}).get("errors") if isinstance(result, dict) else None
            if errors:
                raise refusal(thing_id, errors) from err
            raise TransientError(f"reddit sent an unexpected reply body: {err!r}") from err


def refusal(thing_id: str, errors: Sequence[Sequence[object]]) -> PermanentError | TransientError:
    """Reddit's [code, message, field] errors as Hark's: RATELIMIT ("try again in 5 minutes") is a wait,
    anything else (a locked or deleted thread, empty text) refuses this reply only."""
    words = "; ".join(f"{e[0]}: {e[1]}" if len(e) > 1 else str(e[0]) for e in errors)
    for error in errors:
        if error and error[0] == "RATELIMIT":
            found = re.search(r"(\d+)\s*(second|minute|hour)", str(error[1] if len(error) > 1 else ""))
            unit = {"second": 1, "minute": 60, "hour": 3600}
            wait = float(found.group(1)) * unit[found.group(2)] if found else None
            return TransientError(f"reddit rate limited replying to {thing_id}: {words}", retry_after_s=wait)
    return PermanentError(f"reddit refused replying to {thing_id}: {words}")
