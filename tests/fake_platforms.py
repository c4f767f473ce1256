"""Fake X and Reddit APIs on 127.0.0.1 that serve the platforms' real JSON shapes and rate-limit headers.

The tests point the real tweepy and praw clients at them. Run as a module it is the ingest benchmark:

    .venv/bin/python -m tests.fake_platforms x --mentions 5000 --pages 50
    .venv/bin/python -m tests.fake_platforms reddit --items 5000

Each starts a fake, writes a config naming it, runs `hark run --once --json` twice against a fresh
SQLite file and prints what it measured (ingested, duplicates, 429s served, wall time).
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

TWITTER_EPOCH_MS = 1288834974657
BRAND_ID = "1500000000000000001"
BRAND_HANDLE = "NimbusCycles"
TEXTS = (
    "@NimbusCycles my Nimbus Cruiser arrived with a bent rim, what now?",
    "Loving the new Nimbus Trail 2 on the commute @NimbusCycles",
    "@NimbusCycles how do I pair the Nimbus app with the display?",
    "thinking about buying a Nimbus e-bike, any owners here? @NimbusCycles",
    "@NimbusCycles battery died after 20 km, third time this month",
)
Fault = str  # "503", "500", "429", "malformed", "reset", "timeout"


@dataclass
class FaultPlan:
    """Which requests fail and how: a share of random faults, and/or faults at given request numbers."""

    rate: float = 0.0
    kinds: tuple[Fault, ...] = ("503", "429", "malformed", "reset", "500")
    scripted: dict[int, Fault] = field(default_factory=dict)  # request number (1-based) -> fault
    seed: int = 7
    timeout_delay_s: float = 0.5

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311  # reproducible faults, not secrets

    def pick(self, number: int) -> Fault | None:
        if number in self.scripted:
            return self.scripted[number]
        if self.rate and self._rng.random() < self.rate:
            return self._rng.choice(self.kinds)
        return None


@dataclass
class RateWindow:
    """Enforces `limit` requests per `window_s`, like the platforms; counts what it had to refuse."""

    limit: int
    window_s: float
    start: float = 0.0
    used: int = 0

    def take(self, now: float) -> bool:
        if now >= self.start + self.window_s:
            self.start, self.used = now, 0
        self.used += 1
        return self.used <= self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def reset_at(self) -> float:
        return self.start + self.window_s


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    fault: Fault | None = None


class FakeServer:
    """A threaded HTTP server whose handler asks `route(method, path, query, headers, body)` for a Reply."""

    def __init__(self, faults: FaultPlan | None = None) -> None:
        self.faults = faults or FaultPlan()
        self.lock = threading.RLock()
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.statuses: Counter[str] = Counter()
        self.refused_over_limit = 0  # 429s the rate window forced: pacing failed
        self.faults_served: Counter[str] = Counter()
        self._server: ThreadingHTTPServer | None = None

    # subclasses implement this
    def route(self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes) -> Reply:
        raise NotImplementedError

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body in one segment: no delayed-ACK stalls
            wbufsize = 1 << 16

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                with fake.lock:
                    fake.requests.append((parts.path, query))
                    reply = fake.route(method, parts.path, query, self.headers, body)
                    fake.statuses[str(reply.status)] += 1
                    if reply.fault:
                        fake.faults_served[reply.fault] += 1
                if reply.fault == "reset":
                    self.connection.shutdown(socket.SHUT_RDWR)  # the client sees a reset connection
                    self.close_connection = True
                    return
                if reply.fault == "timeout":
                    time.sleep(fake.faults.timeout_delay_s)  # longer than the client's timeout
                try:
                    self.send_response(reply.status)
                    for name, value in {
                        "Content-Type": "application/json; charset=utf-8",
                        **reply.headers,
                    }.items():
                        self.send_header(name, value)
                    if self.headers.get("Connection", "").lower() == "close":
                        # say so, as an HTTP/1.1 server must: prawcore's token requests ask for it, and
                        # without the header the client pools a socket we are about to close
                        self.send_header("Connection", "close")
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:  # the client gave up first (timeouts)
                    self.close_connection = True

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def fault_reply(self, fault: Fault, headers: dict[str, str]) -> Reply:
        if fault in ("503", "500"):
            return Reply(
                int(fault),
                json.dumps({"title": "Service Unavailable", "status": int(fault)}).encode(),
                headers,
                fault,
            )
        if fault == "malformed":
            return Reply(200, b'{"data": [{"id": "1", "text": "cut o', headers, fault)
        return Reply(200, b"{}", headers, fault)  # reset/timeout: the body never arrives in time


def j(document: Any) -> bytes:
    return json.dumps(document).encode()


# --------------------------------------------------------------------------------------------- X


def snowflake(created: datetime, seq: int) -> int:
    return ((int(created.timestamp() * 1000) - TWITTER_EPOCH_MS) << 22) | (seq & 0x3FFFFF)


class FakeX(FakeServer):
    """GET /2/users/:id/mentions and /2/tweets/search/recent: since_id, until_id, start_time, tokens.

    With our account's OAuth 1.0a keys: POST /2/tweets, GET /2/users/me and /2/users/:id/tweets. A post
    joins the timeline as on X (`publish_posts`): search finds it, the mentions timeline only if it names us.
    """

    def __init__(
        self,
        *,
        bearer_token: str = "test-token",  # noqa: S107  # the fake's own token
        limit: int = 450,
        window_s: float = 900.0,
        faults: FaultPlan | None = None,
        injected_429_reset_s: float = 2.0,
    ) -> None:
        super().__init__(faults)
        self.bearer_token = bearer_token
        self.window = RateWindow(limit, window_s)
        self.tweets: dict[int, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.token_epoch = 0  # bump to make every issued pagination token invalid
        self.injected_429_reset_s = injected_429_reset_s
        self._seq = 0
        self.posting_key = "test-x_api_key"  # the consumer key whose OAuth 1.0a signature may post
        self.posted: list[dict[str, Any]] = []  # POST /2/tweets that X accepted
        self.posting_forbidden = False  # answer posts as X does for an app without the access tier
        self.on_post: Callable[[], None] | None = None  # called once a post is stored, before X answers
        # as on X, an accepted post joins the timeline that search reads (mentions only if it names us)
        self.publish_posts = True
        self._user(BRAND_ID, BRAND_HANDLE, followers=5400, name="Nimbus Cycles")

    def add_mentions(
        self, count: int, *, newest: datetime | None = None, spacing: timedelta = timedelta(seconds=20)
    ) -> list[str]:
        """Add `count` tweets mentioning the brand, the newest at `newest`, older ones `spacing` apart."""
        newest = newest or datetime.fromtimestamp(time.time(), tz=UTC)
        ids = []
        with self.lock:
            for n in range(count):
                self._seq += 1
                created = newest - spacing * (count - 1 - n)
                user_id = str(2000 + self._seq % 97)
                self._user(user_id, f"rider{user_id}", followers=int(user_id) % 500)
                text = f"{TEXTS[self._seq % len(TEXTS)]} #{self._seq}"
                ids.append(self._store_tweet(text, user_id, created))
        return ids

    def add_tweet(
        self,
        text: str,
        *,
        author_username: str,
        mentions_brand: bool = False,
        created: datetime | None = None,
        followers: int = 120,
        reply_settings: str = "everyone",
    ) -> str:
        """Add one tweet by `author_username` (our own account when it is BRAND_HANDLE); its id.

        `mentions_brand` gives it entities.mentions naming our account, as X sends for a text with
        @NimbusCycles in it; without it the tweet has no entities at all (X leaves the key out).
        """
        at = f"@{BRAND_HANDLE}"
        if mentions_brand != (at.lower() in text.lower()):
            raise ValueError(f"mentions_brand={mentions_brand} but the text {text!r} says otherwise")
        with self.lock:
            self._seq += 1
            if author_username.lower() == BRAND_HANDLE.lower():
                user_id = self._user(BRAND_ID, BRAND_HANDLE, followers=followers, name="Nimbus Cycles")
            else:
                known = [u["id"] for u in self.users.values() if u["username"] == author_username]
                user_id = self._user(known[0] if known else str(3000 + self._seq), author_username, followers)
            tweet_id = self._store_tweet(
                text, user_id, created or datetime.fromtimestamp(time.time(), tz=UTC)
            )
            self.tweets[int(tweet_id)]["reply_settings"] = reply_settings
            return tweet_id

    def _user(self, user_id: str, username: str, followers: int, name: str | None = None) -> str:
        self.users.setdefault(
            user_id,
            {
                "id": user_id,
                "username": username,
                "name": name or f"Rider {user_id}",
                "verified": False,
                "description": "",
                "created_at": "2019-05-01T10:00:00.000Z",
                "public_metrics": {
                    "followers_count": followers,
                    "following_count": 10,
                    "tweet_count": 100,
                    "listed_count": 0,
                },
            },
        )
        return user_id

    def _store_tweet(
        self, text: str, user_id: str, created: datetime, *, in_reply_to: str | None = None
    ) -> str:
        """A v2 tweet object as X sends it; entities.mentions only for @handles of users X knows."""
        tweet_id = snowflake(created, self._seq)
        by_name = {u["username"].lower(): u for u in self.users.values()}
        mentions = [
            {"start": m.start(), "end": m.end(), "username": user["username"], "id": user["id"]}
            for m in re.finditer(r"(?<!\w)@(\w{1,15})", text)
            if (user := by_name.get(m.group(1).lower())) is not None
        ]
        parent = self.tweets.get(int(in_reply_to)) if in_reply_to else None
        self.tweets[tweet_id] = {
            "id": str(tweet_id),
            "edit_history_tweet_ids": [str(tweet_id)],
            "text": text,
            "author_id": user_id,
            "conversation_id": str(parent["conversation_id"]) if parent else in_reply_to or str(tweet_id),
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z",
            "lang": "en",
            "reply_settings": "everyone",
            **({"entities": {"mentions": mentions}} if mentions else {}),
            **({"referenced_tweets": [{"type": "replied_to", "id": in_reply_to}]} if in_reply_to else {}),
            "public_metrics": {
                "retweet_count": 0,
                "reply_count": 0,
                "like_count": 1,
                "quote_count": 0,
            },
        }
        return str(tweet_id)

    def _headers(self, now: float) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.window.limit),
            "x-rate-limit-remaining": str(self.window.remaining),
            "x-rate-limit-reset": str(int(self.window.reset_at()) + 1),
        }

    def _token(self, below: int) -> str:
        return base64.urlsafe_b64encode(f"{self.token_epoch}:{below}".encode()).decode().rstrip("=")

    def _below(self, token: str) -> int | None:
        try:
            epoch, below = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":")
        except ValueError:
            return None
        return int(below) if int(epoch) == self.token_epoch else None

    def route(  # noqa: PLR0911  # one return per kind of answer
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> Reply:
        now = time.time()
        if str(headers.get("Authorization", "")).startswith("OAuth "):
            return self._as_our_account(method, path, query, headers, body, now)
        if headers.get("Authorization") != f"Bearer {self.bearer_token}":
            return Reply(
                401,
                j({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}),
            )
        if not self.window.take(now):
            self.refused_over_limit += 1
            return Reply(
                429,
                j({"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429}),
                self._headers(now),
            )
        fault = self.faults.pick(len(self.requests))
        if fault == "429":
            reset = {
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(int(now + self.injected_429_reset_s)),
            }
            return Reply(
                429, j({"title": "Too Many Requests", "status": 429}), {**self._headers(now), **reset}, fault
            )
        if fault:
            return self.fault_reply(fault, self._headers(now))
        if (
            not (path.startswith("/2/users/") and path.endswith("/mentions"))
            and path != "/2/tweets/search/recent"
        ):
            return Reply(404, j({"title": "Not Found Error", "status": 404}))
        mentioning = path.split("/")[3] if path.endswith("/mentions") else None
        try:
            return Reply(200, j(self._page(query, mentioning)), self._headers(now))
        except ValueError:
            problem = {"errors": [{"message": "Invalid pagination_token"}], "title": "Invalid Request"}
            return Reply(400, j(problem), self._headers(now))

    def _as_our_account(  # noqa: PLR0917  # the route's own arguments
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes, now: float
    ) -> Reply:
        """User-context OAuth 1.0a calls: POST /2/tweets, GET /2/users/me, GET /2/users/:id/tweets."""
        if f'oauth_consumer_key="{self.posting_key}"' not in str(headers.get("Authorization", "")):
            return Reply(401, j({"title": "Unauthorized", "type": "about:blank", "status": 401}))
        if method == "GET" and path == "/2/users/me":
            return Reply(
                200, j({"data": {"id": BRAND_ID, "name": "Nimbus Cycles", "username": BRAND_HANDLE}})
            )
        if method == "GET" and path == f"/2/users/{BRAND_ID}/tweets":
            start = query.get("start_time", [""])[0]
            since = datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp() if start else 0.0
            ours = [p for p in reversed(self.posted) if p["posted_at"] >= since][
                : int(query.get("max_results", ["10"])[0])
            ]
            data = [
                {
                    "id": p["id"],
                    "text": p["text"],
                    "edit_history_tweet_ids": [p["id"]],
                    "created_at": datetime.fromtimestamp(p["posted_at"], tz=UTC).strftime(
                        "%Y-%m-%dT%H:%M:%S.000Z"
                    ),
                    **(
                        {"referenced_tweets": [{"type": "replied_to", "id": p["in_reply_to"]}]}
                        if p["in_reply_to"]
                        else {}
                    ),
                }
                for p in ours
            ]
            meta = {"result_count": len(data)} | (
                {"newest_id": data[0]["id"], "oldest_id": data[-1]["id"]} if data else {}
            )
            return Reply(200, j({"data": data, "meta": meta} if data else {"meta": meta}), self._headers(now))
        if method == "POST" and path == "/2/tweets":
            return self._post(body, now)
        return Reply(404, j({"title": "Not Found Error", "status": 404}))

    def _post(self, body: bytes, now: float) -> Reply:
        """POST /2/tweets; X refuses an account's duplicate text with a 403."""
        if self.posting_forbidden:
            return Reply(
                403,
                j(
                    {
                        "client_id": "123",
                        "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use"
                        " keys and tokens from a Twitter developer App that is attached to a Project.",
                        "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
                        "title": "Client Forbidden",
                        "required_enrollment": "Appropriate Level of API Access",
                        "reason": "client-not-enrolled",
                        "type": "https://api.twitter.com/2/problems/client-forbidden",
                    }
                ),
            )
        document = json.loads(body or b"{}")
        text = str(document.get("text", ""))
        if any(p["text"] == text for p in self.posted):
            return Reply(
                403,
                j(
                    {
                        "detail": "You are not allowed to create a Tweet with duplicate content.",
                        "type": "about:blank",
                        "title": "Forbidden",
                        "status": 403,
                    }
                ),
                self._headers(now),
            )
        self._seq += 1
        created = datetime.fromtimestamp(now, tz=UTC)
        tweet_id = str(snowflake(created, self._seq))
        in_reply_to = (document.get("reply") or {}).get("in_reply_to_tweet_id")
        self.posted.append({"id": tweet_id, "text": text, "in_reply_to": in_reply_to, "posted_at": now})
        if self.publish_posts:
            self._store_tweet(text, BRAND_ID, created, in_reply_to=in_reply_to)
        if self.on_post is not None:  # e.g. kill the client between the platform's work and its answer
            self.on_post()
        return Reply(201, j({"data": {"id": tweet_id, "text": text}}), self._headers(now))

    def _page(self, query: dict[str, list[str]], mentioning: str | None = None) -> dict[str, Any]:
        """One page newest first; the mentions timeline holds only tweets whose entities name `mentioning`."""

        def one(name: str) -> str | None:
            return query.get(name, [None])[0]

        since, until = int(one("since_id") or 0), int(one("until_id") or 2**63)
        start = one("start_time")
        start_at = datetime.fromisoformat(start.replace("Z", "+00:00")) if start else None
        token = one("pagination_token") or one("next_token")
        if token is not None:
            below = self._below(token)
            if below is None:
                raise ValueError(token)
            until = min(until, below)
        size = int(one("max_results") or 10)
        ids = sorted((i for i in self.tweets if since < i < until), reverse=True)
        if mentioning is not None:
            ids = [
                i
                for i in ids
                if any(
                    m.get("id") == mentioning for m in self.tweets[i].get("entities", {}).get("mentions", ())
                )
            ]
        if start_at is not None:
            ids = [
                i for i in ids if self.tweets[i]["created_at"] >= start_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            ]
        page, rest = ids[:size], ids[size:]
        if not page:
            return {"meta": {"result_count": 0}}
        data = [self.tweets[i] for i in page]
        authors = sorted({t["author_id"] for t in data})
        meta: dict[str, Any] = {
            "result_count": len(page),
            "newest_id": str(page[0]),
            "oldest_id": str(page[-1]),
        }
        if rest:
            meta["next_token"] = self._token(page[-1])
        return {"data": data, "includes": {"users": [self.users[a] for a in authors]}, "meta": meta}


# ---------------------------------------------------------------------------------------- Reddit


def to36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
    return out or "0"


class FakeReddit(FakeServer):
    """The token endpoint plus subreddit new/comments, search and inbox mentions listings, and what the
    replier uses: POST /api/comment (praw's form body) and the account's /user/<name>/comments."""

    def __init__(
        self,
        *,
        client_id: str = "client-id",
        client_secret: str = "client-secret",  # noqa: S107  # the fake's own secret
        limit: int = 1000,
        window_s: float = 600.0,
        faults: FaultPlan | None = None,
    ) -> None:
        super().__init__(faults)
        self.credentials = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self.window = RateWindow(limit, window_s)
        self.feeds: dict[str, list[dict[str, Any]]] = {}  # path -> things, oldest first
        self.access_token = "fake-access-token"
        self.refuse_tokens = False  # a revoked app: tokens are issued, listings answer 401
        self._next_id = {"t1": 36**5, "t3": 36**4}
        self.account: str | None = None  # who a password grant logs in: the author of its comments
        self.comments: list[dict[str, Any]] = []  # t1 things made by POST /api/comment or comment()
        # parent fullname -> the error Reddit answers a comment under it with, e.g. LOCKED
        self.refusals: dict[str, list[str | None]] = {}
        # called once a comment is stored, before Reddit answers; a fault it returns is the answer (Reddit
        # has been seen to answer 5xx for a comment it did store)
        self.on_post: Callable[[], Fault | None] | None = None
        self.publish_posts = True  # as on Reddit, a new comment shows in its subreddit's comments feed
        self._authors: dict[str, str] = {}  # username -> t2 fullname, for things with a chosen author

    def _thing(
        self, kind: str, created: datetime, sub: str, n: int, text: str, *, author: str | None = None
    ) -> dict[str, Any]:
        self._next_id[kind] += 1
        id36 = to36(self._next_id[kind])
        data: dict[str, Any] = {
            "id": id36,
            "name": f"{kind}_{id36}",
            "author": author or f"rider{n % 89}",
            "author_fullname": self._author_fullname(author) if author else f"t2_{to36(1000 + n % 89)}",
            "subreddit": sub,
            "subreddit_id": "t5_2qh1i",
            "created_utc": created.timestamp(),
            "created": created.timestamp(),
            "score": 1,
            "ups": 1,
            "downs": 0,
            "edited": False,
            "stickied": False,
            "distinguished": None,
        }
        if kind == "t3":
            data |= {
                "title": text,
                "selftext": "",
                "is_self": True,
                "num_comments": 0,
                "over_18": False,
                "permalink": f"/r/{sub}/comments/{id36}/ride/",
                "url": f"https://www.reddit.com/r/{sub}/comments/{id36}/ride/",
                "domain": f"self.{sub}",
            }
        else:
            data |= {
                "body": text,
                "link_id": "t3_abc12",
                "parent_id": "t3_abc12",
                "link_title": "Ride report",
            }
        return {"kind": kind, "data": data}

    def _author_fullname(self, author: str) -> str:
        return self._authors.setdefault(author.lower(), f"t2_{to36(36**4 + len(self._authors))}")

    def add(self, path: str, kind: str, count: int, *, newest: datetime | None = None) -> list[str]:
        """Add `count` things to a feed path (e.g. /r/NimbusCycles/new), newest last, 30 s apart."""
        newest = newest or datetime.fromtimestamp(time.time(), tz=UTC)
        sub = path.split("/")[2] if path.startswith("/r/") else "ebikes"
        names = []
        with self.lock:
            feed = self.feeds.setdefault(path, [])
            for n in range(count):
                created = newest - timedelta(seconds=30 * (count - 1 - n))
                thing = self._thing(
                    kind, created, sub, len(feed) + n, f"{TEXTS[n % len(TEXTS)]} (u/{BRAND_HANDLE})"
                )
                if path == "/message/mentions":  # inbox items carry context instead of link_id
                    data = thing["data"]
                    del data["link_id"]
                    data |= {
                        "context": f"/r/{sub}/comments/abc12/ride/{data['id']}/?context=3",
                        "type": "username_mention",
                        "subject": "username mention",
                        "new": True,
                    }
                feed.append(thing)
                names.append(str(thing["data"]["name"]))
        return names

    def add_thing(
        self, path: str, kind: str, text: str, *, author: str, created: datetime | None = None
    ) -> str:
        """Add one submission (`text` is its title) or comment by `author` to a /r/<sub>/new or
        /r/<sub>/comments feed; its fullname. Each submission is a thread of its own."""
        created = created or datetime.fromtimestamp(time.time(), tz=UTC)
        with self.lock:
            feed = self.feeds.setdefault(path, [])
            thing = self._thing(kind, created, path.split("/")[2], len(feed), text, author=author)
            feed.append(thing)
            feed.sort(key=lambda t: float(t["data"]["created_utc"]))
        return str(thing["data"]["name"])

    def comment(
        self, parent: str, text: str, *, author: str, created: datetime | None = None
    ) -> dict[str, Any]:
        """Store a comment by `author` under the post or comment `parent` as Reddit does; the t1 thing,
        in the fields of the recorded /api/comment answer (plus author_fullname, as listings since 2019)."""
        created = created or datetime.fromtimestamp(time.time(), tz=UTC)
        with self.lock:
            target = self._find(parent)
            sub = str(target["subreddit"]) if target else "NimbusCycles"
            link = parent if parent.startswith("t3_") else str((target or {}).get("link_id") or "t3_abc12")
            self._next_id["t1"] += 1
            id36 = to36(self._next_id["t1"])
            thing = {
                "kind": "t1",
                "data": {
                    "subreddit_id": "t5_2qh1i",
                    "banned_by": None,
                    "removal_reason": None,
                    "link_id": link,
                    "likes": True,
                    "replies": "",
                    "user_reports": [],
                    "saved": False,
                    "id": id36,
                    "gilded": 0,
                    "archived": False,
                    "report_reasons": [],
                    "author": author,
                    "author_fullname": self._author_fullname(author),
                    "parent_id": parent,
                    "score": 1,
                    "approved_by": None,
                    "controversiality": 0,
                    "body": text,
                    "edited": False,
                    "author_flair_css_class": None,
                    "downs": 0,
                    "body_html": f'<div class="md"><p>{html.escape(text)}</p>\n</div>',
                    "stickied": False,
                    "subreddit": sub,
                    "score_hidden": False,
                    "name": f"t1_{id36}",
                    "created": created.timestamp(),
                    "author_flair_text": None,
                    "created_utc": created.timestamp(),
                    "ups": 1,
                    "mod_reports": [],
                    "num_reports": 0,
                    "distinguished": None,
                },
            }
            self.comments.append(thing)
            if self.publish_posts:
                feed = self.feeds.setdefault(f"/r/{sub}/comments", [])
                feed.append(thing)
                feed.sort(key=lambda t: float(t["data"]["created_utc"]))
        return thing

    def _find(self, fullname: str) -> dict[str, Any] | None:
        """The data of a thing the fake holds, by fullname."""
        for thing in (t for things in (*self.feeds.values(), self.comments) for t in things):
            if thing["data"]["name"] == fullname:
                return dict(thing["data"])
        return None

    def _headers(self, now: float) -> dict[str, str]:
        return {
            "x-ratelimit-remaining": f"{float(self.window.remaining):.1f}",
            "x-ratelimit-used": str(self.window.used),
            "x-ratelimit-reset": str(max(0, int(self.window.reset_at() - now))),
        }

    def route(  # noqa: PLR0911  # one return per kind of answer
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> Reply:
        now = time.time()
        if path == "/api/v1/access_token":
            if headers.get("Authorization") != f"Basic {self.credentials}":
                return Reply(401, j({"message": "Unauthorized", "error": 401}))
            grant = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if grant.get("grant_type") == "password":  # a script app logs in as its account
                self.account = grant.get("username")
            return Reply(
                200,
                j(
                    {
                        # without the account's login, an app-only token: it reads but cannot comment
                        "access_token": self.access_token
                        if grant.get("grant_type") == "password"
                        else f"app-{self.access_token}",
                        "token_type": "bearer",
                        "expires_in": 86400,
                        "scope": "*",
                    }
                ),
            )
        token = str(headers.get("Authorization", "")).removeprefix("bearer ")
        if self.refuse_tokens or token not in (self.access_token, f"app-{self.access_token}"):
            return Reply(
                401,
                j({"message": "Unauthorized", "error": 401}),
                {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'},
            )
        if not self.window.take(now):
            self.refused_over_limit += 1
            return Reply(429, j({"message": "Too Many Requests", "error": 429}), self._headers(now))
        fault = self.faults.pick(len(self.requests))
        if fault == "429":
            return Reply(
                429,
                j({"message": "Too Many Requests", "error": 429}),
                {**self._headers(now), "x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "2"},
                fault,
            )
        if fault:
            return self.fault_reply(fault, self._headers(now))
        if method == "POST" and path.rstrip("/") == "/api/comment":
            return self._post_comment(body, now, self.account if token == self.access_token else None)
        feed = self._feed(path.rstrip("/"), query) if method == "GET" else None
        if feed is None:
            return Reply(404, j({"message": "Not Found", "error": 404}))
        newest_first = list(reversed(feed))
        after = query.get("after", [None])[0]
        if after:
            names = [t["data"]["name"] for t in newest_first]
            newest_first = newest_first[names.index(after) + 1 :] if after in names else []
        size = int(query.get("limit", ["25"])[0])
        page = newest_first[:size]
        more = len(newest_first) > size
        listing = {
            "kind": "Listing",
            "data": {
                "after": page[-1]["data"]["name"] if more else None,
                "dist": len(page),
                "modhash": None,
                "geo_filter": "",
                "children": page,
                "before": None,
            },
        }
        return Reply(200, j(listing), self._headers(now))

    def _post_comment(self, body: bytes, now: float, account: str | None) -> Reply:
        """POST /api/comment, form-encoded as praw sends it; with api_type=json Reddit answers 200 either
        way, the new thing in json.data.things or why not in json.errors ([code, message, field])."""
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if account is None:  # an app-only token: commenting needs a logged-in user
            return Reply(403, j({"message": "Forbidden", "error": 403}), self._headers(now))
        parent, text = form.get("thing_id", ""), form.get("text", "")
        error = self.refusals.get(parent)
        if error is None and not text.strip():
            error = ["NO_TEXT", "we need something here", "text"]
        if error is not None:
            return Reply(200, j({"json": {"errors": [error]}}), self._headers(now))
        thing = self.comment(parent, text, author=account, created=datetime.fromtimestamp(now, tz=UTC))
        late = self.on_post() if self.on_post is not None else None  # e.g. kill the client here
        if late is not None:
            return self.fault_reply(late, self._headers(now))
        return Reply(200, j({"json": {"errors": [], "data": {"things": [thing]}}}), self._headers(now))

    def _feed(self, path: str, query: dict[str, list[str]]) -> list[dict[str, Any]] | None:
        if path.endswith("/search"):
            q = query.get("q", [""])[0].lower().strip('"')
            found = [t for p, things in self.feeds.items() if p.endswith("/new") for t in things]
            return sorted(
                (t for t in found if q in t["data"]["title"].lower()), key=lambda t: t["data"]["created_utc"]
            )
        if path == "/message/mentions" or re.fullmatch(r"/r/\w+/(new|comments)", path):
            return self.feeds.get(path, [])
        user = re.fullmatch(r"/user/([\w-]+)/comments", path)
        if user is not None:  # sort=new: everything the user commented, anywhere
            things = {
                str(t["data"]["name"]): t
                for t in (t for things in (*self.feeds.values(), self.comments) for t in things)
                if t["kind"] == "t1" and str(t["data"]["author"]).lower() == user.group(1).lower()
            }
            return sorted(things.values(), key=lambda t: float(t["data"]["created_utc"]))
        return None


# ------------------------------------------------------------------------------------- benchmark


def _config(tmp: Path, source: dict[str, Any]) -> Path:
    path = tmp / "config.yaml"
    document = {
        "brand": {
            "name": "Nimbus Cycles",
            "accounts": {"x": {BRAND_HANDLE: BRAND_ID}, "reddit": ["NimbusCycles_Team"]},
            "terms": ["nimbus"],
        },
        "sources": [source],
        "routing": {"default_action": "ignore"},  # this measures ingest, not the queue
    }
    path.write_text(json.dumps(document), encoding="utf-8")  # JSON is YAML
    return path


def _hark_once(config: Path, env: dict[str, str]) -> tuple[dict[str, Any], float, int]:
    repo = Path(__file__).resolve().parent.parent
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(repo / "main.py"), "run", "--once", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise SystemExit(f"hark run --once failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return json.loads(result.stdout), elapsed, result.returncode


def _stored(db: Path, platform: str) -> tuple[int, int, set[str]]:
    with sqlite3.connect(db) as conn:
        rows = [
            r[0] for r in conn.execute("SELECT external_id FROM mentions WHERE platform = ?", (platform,))
        ]
    return len(rows), len(rows) - len(set(rows)), set(rows)


def _fault_script(total_requests: int, kinds: tuple[str, ...]) -> dict[int, Fault]:
    """Spread the listed faults evenly over the expected requests."""
    step = max(2, total_requests // (len(kinds) + 1))
    return {step * (n + 1): kind for n, kind in enumerate(kinds)}


def benchmark(
    platform: str, items: int, pages: int, faults: tuple[str, ...], env_base: dict[str, str]
) -> dict[str, Any]:
    per_page = max(1, items // pages)
    plan = FaultPlan(scripted=_fault_script(pages, faults))
    fake: FakeX | FakeReddit
    if platform == "x":
        fake = FakeX(bearer_token="bench-token", faults=plan)
        expected = set(fake.add_mentions(items, spacing=timedelta(seconds=15)))
        source: dict[str, Any] = {
            "type": "x",
            "name": "x-bench",
            "mode": "mentions",
            "user_id": BRAND_ID,
            "max_results": min(100, per_page),
            "backfill_hours": 48,
        }
        env = {"X_BEARER_TOKEN": "bench-token"}
    else:
        fake = FakeReddit(faults=plan)
        feeds = [
            ("/r/NimbusCycles/new", "t3"),
            ("/r/NimbusCycles/comments", "t1"),
            ("/r/ebikes/new", "t3"),
            ("/r/ebikes/comments", "t1"),
            ("/message/mentions", "t1"),
        ]
        expected = set()
        for path, kind in feeds:
            expected |= set(fake.add(path, kind, items // len(feeds)))
        source = {
            "type": "reddit",
            "name": "reddit-bench",
            "subreddits": ["NimbusCycles", "ebikes"],
            "inbox_mentions": True,
            "limit": min(100, per_page),
            "backfill_hours": 48,
        }
        env = {
            "REDDIT_CLIENT_ID": "client-id",
            "REDDIT_CLIENT_SECRET": "client-secret",
            "REDDIT_USERNAME": "NimbusCycles_Team",
            "REDDIT_PASSWORD": "pw",
            "REDDIT_USER_AGENT": "hark-bench/0.1 by u/NimbusCycles_Team",
        }
    fake.start()
    try:
        base = "api_base_url" if platform == "x" else "oauth_url"
        source[base] = fake.url
        if platform == "reddit":
            source["reddit_url"] = fake.url
        with tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            db = tmp / "bench.db"
            full_env = {
                **env_base,
                **env,
                "HARK_DATABASE_URL": f"sqlite:///{db}",
                "HARK_LOG_LEVEL": "WARNING",
            }
            config = _config(tmp, source)
            first, first_s, first_rc = _hark_once(config, full_env)
            requests_first = len(fake.requests)
            second, second_s, second_rc = _hark_once(config, full_env)
            count, duplicates, stored = _stored(db, platform)
    finally:
        fake.stop()
    return {
        "platform": platform,
        "items_on_fake": len(expected),
        "first_run": {
            "new_mentions": first["new_mentions"],
            "exit": first_rc,
            "wall_s": round(first_s, 1),
            "requests": requests_first,
        },
        "second_run": {
            "new_mentions": second["new_mentions"],
            "exit": second_rc,
            "wall_s": round(second_s, 1),
            "requests": len(fake.requests) - requests_first,
        },
        "stored": count,
        "duplicates": duplicates,
        "missing": len(expected - stored),
        "faults_served": dict(fake.faults_served),
        "status_codes": dict(fake.statuses),
        "429_over_limit": fake.refused_over_limit,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("platform", choices=["x", "reddit"])
    parser.add_argument("--items", "--mentions", type=int, default=5000, dest="items")
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument(
        "--faults",
        default="429,503,429,503",
        help="faults spread over the run (429, 503, 500, malformed, reset)",
    )
    args = parser.parse_args(argv)
    faults = tuple(f for f in args.faults.split(",") if f)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "REDDIT_", "HARK_", "SLACK_"))}
    report = benchmark(args.platform, args.items, args.pages, faults, env)
    sys.stdout.write(json.dumps(report, indent=2) + "\n")


def iter_pages(fake: FakeServer) -> Iterator[str]:
    """The token or `after` of each request the fake served, in order (for tests)."""
    for _path, query in fake.requests:
        yield (query.get("pagination_token") or query.get("after") or [""])[0]


if __name__ == "__main__":
    main()
