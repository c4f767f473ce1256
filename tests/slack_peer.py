"""Slack Web API answers built from the recorded schema samples in shared/fixtures/slack."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

from pytest_httpserver import HTTPServer
from slack_sdk.signature import SignatureVerifier
from werkzeug import Request, Response

from tests.conftest import SHARED

SLACK_API = SHARED / "fixtures" / "slack" / "api"


def slack_ok(method: str, **overrides: Any) -> dict[str, Any]:
    """A success answer: the sample's fields, with the error-only fields dropped, as Slack sends them."""
    sample: dict[str, Any] = json.loads((SLACK_API / f"{method}.json").read_text(encoding="utf-8"))
    for key in ("error", "warning", "needed", "provided", "errors", "deprecated_argument"):
        sample.pop(key, None)
    return {**sample, "ok": True, **overrides}


def slack_error(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}


CHANNEL_IDS = {"#hark-queue": "C0QUEUE", "#hark-escalations": "C0ESCAL"}


def form(request: Request) -> dict[str, Any]:
    """A Web API call's arguments, JSON or form-encoded, with `blocks` and `view` parsed."""
    if request.mimetype == "application/json":
        args: dict[str, Any] = json.loads(request.get_data())
    else:
        args = dict(request.form.items())
    for key in ("blocks", "view"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args


class FakeSlack:
    """Slack's Web API on a local pytest-httpserver: answers shaped as the recorded samples, with a new ts per
    message and channel ids for channel names, and keeps every call in order."""

    def __init__(
        self, server: HTTPServer, groups: dict[str, list[str]] | None = None, *, min_gap_s: float = 0.0
    ) -> None:
        self.server = server
        self.groups = groups or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.refused = 0  # chat.postMessage calls answered 429
        self.min_gap_s = min_gap_s  # as Slack: a channel takes about one message per this many seconds
        self._last_post: dict[str, float] = {}
        self._lock = threading.Lock()
        self._seq = 0
        server.expect_request(re.compile(r"^/api/.+")).respond_with_handler(self._answer)

    @property
    def url(self) -> str:
        return self.server.url_for("/api/")

    def of(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [args for name, args in self.calls if name == method]

    def _too_soon(self, channel: str) -> bool:
        now = time.monotonic()
        if now - self._last_post.get(channel, -1e9) < self.min_gap_s:
            return True
        self._last_post[channel] = now
        return False

    def _next_ts(self) -> str:
        self._seq += 1
        return f"1763000000.{self._seq:06d}"

    def _answer(self, request: Request) -> Response:
        method = request.path.removeprefix("/api/")
        args = form(request)
        channel = CHANNEL_IDS.get(str(args.get("channel", "")), str(args.get("channel", "")))
        with self._lock:
            if method == "chat.postMessage" and self._too_soon(channel):
                self.refused += 1
                refusal = json.dumps(slack_error("ratelimited"))
                return Response(
                    refusal, status=429, headers={"Retry-After": "0"}, content_type="application/json"
                )
            self.calls.append((method, args))
            ts = self._next_ts()
        body: dict[str, Any]
        match method:
            case "chat.postMessage":
                body = slack_ok("chat.postMessage", ts=ts, channel=channel)
            case "chat.update":
                body = {"ok": True, "channel": channel, "ts": args.get("ts"), "text": args.get("text", "")}
            case "chat.postEphemeral":
                body = {"ok": True, "message_ts": ts}
            case "usergroups.users.list":
                body = {"ok": True, "users": self.groups.get(str(args.get("usergroup")), [])}
            case "auth.test" | "views.open":
                body = slack_ok(method)
            case _:
                body = slack_error("unknown_method")
        return Response(json.dumps(body), status=200, content_type="application/json")


SIGNING_SECRET = "test-signing-secret"  # a test value, not a credential
FORM = "application/x-www-form-urlencoded"


def signed_headers(
    body: str, *, secret: str = SIGNING_SECRET, age_s: int = 0, content_type: str = FORM
) -> dict[str, str]:
    """The headers Slack sends with `body`: signed with `secret` `age_s` seconds ago."""
    timestamp = str(int(time.time()) - age_s)
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
    }
