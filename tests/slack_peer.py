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


CHANNEL_IDS = {"#hark-queue": "C0QUEUE", "#hark-escalations": "C0ESCAL", "#hark-reports": "C0REPORT"}


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
    message and channel ids for channel names, and keeps every call in order.

    Files go up as Slack's external upload does: files.getUploadURLExternal hands out a file id and an
    upload URL on this same server, the bytes are POSTed there (kept in `uploads`, recorded as "upload"),
    and files.completeUploadExternal shares only files that were uploaded, only to a channel id."""

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
        self.failures: dict[str, str] = {}  # method -> the Slack error it answers with instead
        self.channels_page = 100  # conversations.list's most channels per page, whatever the limit asked
        self.uploads: dict[str, bytes] = {}  # file id -> the bytes POSTed to its upload URL
        self._announced: dict[str, dict[str, Any]] = {}  # file id -> its getUploadURLExternal arguments
        server.expect_request(re.compile(r"^/api/.+")).respond_with_handler(self._answer)
        server.expect_request(re.compile(r"^/upload/.+"), method="POST").respond_with_handler(self._receive)

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
            case _ if method in self.failures:
                body = slack_error(self.failures[method])
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
            case "conversations.list":
                body = self._channels(args)
            case "files.getUploadURLExternal":
                body = self._upload_url(args)
            case "files.completeUploadExternal":
                body = self._complete(args)
            case _:
                body = slack_error("unknown_method")
        return Response(json.dumps(body), status=200, content_type="application/json")

    def _channels(self, args: dict[str, Any]) -> dict[str, Any]:
        """A page of the channels the bot sees; the cursor is the next page's offset. (No recorded sample:
        the fields Slack documents that a lookup reads.)"""
        start = int(args.get("cursor") or 0)
        size = min(int(args.get("limit") or 100), self.channels_page)
        names = sorted(CHANNEL_IDS)
        page = [
            {"id": CHANNEL_IDS[n], "name": n.removeprefix("#"), "is_channel": True, "is_archived": False}
            for n in names[start : start + size]
        ]
        more = str(start + size) if start + size < len(names) else ""
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": more}}

    def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not str(args.get("length", "")).isdigit():
            return slack_error("invalid_arguments")
        with self._lock:
            file_id = f"F0HARK{len(self._announced) + 1:04d}"
            self._announced[file_id] = args
        return slack_ok(
            "files.getUploadURLExternal",
            file_id=file_id,
            upload_url=self.server.url_for(f"/upload/{file_id}"),
        )

    def _receive(self, request: Request) -> Response:
        """The upload URL: slack-sdk POSTs the file's raw bytes (no multipart, no token)."""
        file_id = request.path.removeprefix("/upload/")
        data = request.get_data()  # before anything reads .form: the body is the file, not a form
        with self._lock:
            self.calls.append(("upload", {"file_id": file_id, "bytes": len(data)}))
            if file_id not in self._announced:
                return Response("no such upload", status=404, content_type="text/plain")
            self.uploads[file_id] = data
        return Response(f"OK - {len(data)}", status=200, content_type="text/plain")

    def _complete(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            files: list[dict[str, Any]] = json.loads(str(args.get("files") or ""))
        except json.JSONDecodeError:
            return slack_error("invalid_json")
        channel_id = args.get("channel_id")
        with self._lock:
            if not files or any(f.get("id") not in self.uploads for f in files):
                return slack_error("file_not_found")
            if channel_id is not None and channel_id not in CHANNEL_IDS.values():
                return slack_error("channel_not_found")  # a name ("#hark-reports") is not an id
            uploaded = {f["id"]: (self._announced[f["id"]], len(self.uploads[f["id"]])) for f in files}
        sample = slack_ok("files.completeUploadExternal")["files"][0]
        shared = []
        for f in files:
            announced, size = uploaded[f["id"]]
            name = str(announced["filename"])
            shared.append(
                {
                    **sample,
                    "id": f["id"],
                    "name": name,
                    "title": f.get("title") or name,
                    "size": size,
                    "permalink": f"https://hark-test.slack.com/files/U0HARK/{f['id']}/{name}",
                }
            )
        return slack_ok("files.completeUploadExternal", files=shared)


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
