"""Post queue cards (Block Kit) and reports (text and charts) to Slack with slack-sdk's WebClient."""

from __future__ import annotations

import logging
import re
import threading
import time
import urllib.error
from collections.abc import Callable, Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryHandler, RetryState
from slack_sdk.web import SlackResponse

from hark.errors import AuthError, PermanentError, TransientError
from hark.records import PostedCard, QueueCard
from responders.config import QueueConfig
from responders.console import card_title
from responders.slack_blocks import (
    SECTION_LIMIT,
    card_blocks,
    cut,
    digest_blocks,
    escape_mrkdwn,
    fallback,
    literal,
    person_element,
    plain_note,
    rich,
    slack_user,
)

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 5  # 429s in a row on one call, each after its Retry-After, before it is a TransientError
LONGEST_INLINE_WAIT_S = 10.0  # a longer Retry-After is the stage's backoff, not a held thread
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "account_inactive", "token_expired"})
# a channel's, group's or DM's id; a channel's name is lower case, so never one of these
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]+")
CHANNELS_PAGE = 200  # conversations.list's page size, as Slack recommends (it allows up to 1000)


def translate_slack_error(err: SlackApiError, what: str, *, which: str = "bot token") -> Exception:
    """Map slack-sdk's error to Hark's classes, as STYLE.md says; `which` names the token used."""
    status = err.response.status_code
    code = str(err.response.get("error") or "")
    if status == 429:
        retry_after = err.response.headers.get("Retry-After") or err.response.headers.get("retry-after")
        return TransientError(
            f"slack rate limited {what}", retry_after_s=float(retry_after) if retry_after else None
        )
    if code in AUTH_ERRORS:
        return AuthError(f"slack rejected the {which} ({code}) while {what}")
    if status >= 500:
        return TransientError(f"slack unavailable while {what}: {status}")
    return PermanentError(f"slack refused {what}: {code or status}")


class ChannelPacer:
    """About one message a second per channel, as Slack asks of chat.postMessage: each caller waits its turn.
    A 429 that comes anyway is retried by slack-sdk after its Retry-After (RateLimitErrorRetryHandler)."""

    def __init__(
        self,
        interval_s: float = 1.0,
        *,
        wait: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval_s = interval_s
        self.wait = wait or threading.Event().wait  # an Event's wait: no time.sleep outside main.py
        self._clock = clock
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def take_turn(self, channel: str) -> float:
        """Wait until `channel` may take another message; return how long that was."""
        with self._lock:
            now = self._clock()
            turn = max(now, self._next.get(channel, now))
            self._next[channel] = turn + self._interval_s
        delay = turn - now
        if delay > 0:
            self.wait(delay)
        return delay

    def taken(self, channel: str) -> None:
        """The channel took a message just now (maybe after 429s and a retry): its next turn is a full
        interval from now, not from when this one was meant to go."""
        with self._lock:
            self._next[channel] = max(self._next.get(channel, 0.0), self._clock() + self._interval_s)


class RateLimitRetry(RetryHandler):
    """slack-sdk retries a 429 after its Retry-After, when that is short; a longer wait is the caller's
    (a TransientError with the wait, so the stage backs off instead of holding a thread)."""

    def __init__(
        self, *, max_retry_count: int, longest_wait_s: float, wait: Callable[[float], object]
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._longest_wait_s = longest_wait_s
        self._wait = wait

    @staticmethod
    def _retry_after(response: HttpResponse | None) -> float | None:
        if response is None or response.status_code != HTTPStatus.TOO_MANY_REQUESTS:
            return None
        for name, values in response.headers.items():
            if name.lower() == "retry-after" and values and str(values[0]).strip().isdigit():
                return float(str(values[0]).strip())
        return 1.0  # a 429 without the header: one second, as slack-sdk itself assumes

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        wait_s = self._retry_after(response)
        return wait_s is not None and wait_s <= self._longest_wait_s

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        asked = self._retry_after(response)
        self._wait((1.0 if asked is None else asked) + 0.1)  # "Retry-After: 0" is an answer too
        state.increment_current_attempt()
        log.info("slack_rate_limited retry=%d", state.current_attempt)


class SlackQueueResponder:
    """Cards go to the queue channel; escalations go to the escalation channel."""

    name = "slack"

    def __init__(
        self,
        client: WebClient,
        *,
        channel: str,
        escalation_channel: str,
        on_call_group: str | None = None,
        pacer: ChannelPacer | None = None,
    ) -> None:
        self._client = client
        self._channel = channel
        self._escalation_channel = escalation_channel
        self._on_call_group = on_call_group
        self._pacer = pacer or ChannelPacer()
        self._channel_ids: dict[str, str] = {}  # "#hark-queue" -> "C…", as Slack answered
        if not any(isinstance(h, RateLimitRetry) for h in client.retry_handlers):
            client.retry_handlers.append(
                RateLimitRetry(
                    max_retry_count=RATE_LIMIT_RETRIES,
                    longest_wait_s=LONGEST_INLINE_WAIT_S,
                    wait=self._pacer.wait,
                )
            )

    @classmethod
    def from_token(cls, token: str, cfg: QueueConfig) -> SlackQueueResponder:
        return cls.on_client(WebClient(token=token, base_url=cfg.slack_base_url, timeout=10), cfg)

    @classmethod
    def on_client(cls, client: WebClient, cfg: QueueConfig) -> SlackQueueResponder:
        """The queue's cards on `client` (the Slack app shares its client), as `cfg` places and paces them."""
        return cls(
            client,
            channel=cfg.channel,
            escalation_channel=cfg.escalation_channel,
            on_call_group=cfg.on_call_group,
            pacer=ChannelPacer(cfg.slack_pace_s),
        )

    def check(self) -> str:
        """Call auth.test once at startup; returns the bot's team. Raises AuthError or TransientError."""
        try:
            response = self._client.auth_test()
        except SlackApiError as err:
            raise translate_slack_error(err, "checking the token") from err
        except (urllib.error.URLError, OSError) as err:
            raise TransientError(f"cannot connect to slack: {err}") from err
        return str(response.get("team") or "")

    def post_card(self, card: QueueCard, thread: str | None = None) -> PostedCard:
        channel = card.channel or (self._escalation_channel if card.escalated else self._channel)
        response = self._call(
            f"posting case {card.case_id}",
            self._client.chat_postMessage,
            channel=channel,
            text=fallback(f"{card_title(card)}: {card.text}"),
            mrkdwn=False,
            blocks=card_blocks(card),
            thread_ts=thread,
            unfurl_links=False,
            unfurl_media=False,
        )
        # Slack answers with the channel's id: chat.update and every interaction name the channel by it
        return PostedCard(str(response.get("channel") or channel), str(response["ts"]))

    def post_digest(self, channel: str, cards: Sequence[QueueCard]) -> PostedCard:
        response = self._call(
            f"posting a digest of {len(cards)} cards",
            self._client.chat_postMessage,
            channel=channel,
            text=f"A burst: {len(cards)} more posts for the queue",
            mrkdwn=False,
            blocks=digest_blocks(list(cards)),
            unfurl_links=False,
            unfurl_media=False,
        )
        return PostedCard(str(response.get("channel") or channel), str(response["ts"]))

    def update_card(self, channel: str, ref: str, card: QueueCard) -> None:
        """Show the card's state now, in place (chat.update keeps its thread and its place in the channel)."""
        self._call(
            f"updating the card of case {card.case_id}",
            self._client.chat_update,
            channel=channel,
            ts=ref,
            text=fallback(card_title(card)),  # chat.update has no mrkdwn switch: Hark's words only
            blocks=card_blocks(card),
        )

    def history(self, channel: str, thread: str, elements: list[dict[str, Any]]) -> str:
        """One line of a case's history in its thread, as rich text (literal words, real user mentions)."""
        text = "".join(str(e.get("text") or (f"@{e['user_id']}" if "user_id" in e else "")) for e in elements)
        return self._in_thread(channel, thread, text, [rich(*elements)], "adding history")

    def alert(self, text: str, *, thread: str | None = None) -> str:
        """Hark's words (escaped) in the escalation channel, calling the on-call user group to them: the one
        message Hark sends with a live mention."""
        call = f"<!subteam^{self._on_call_group}> " if self._on_call_group else ""
        response = self._call(
            "alerting on-call",
            self._client.chat_postMessage,
            channel=self._escalation_channel,
            thread_ts=thread,
            text=call + escape_mrkdwn(text),
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response["ts"])

    def tell(self, channel: str, user: str, text: str) -> None:
        """An ephemeral message only `user` sees (a refusal, an answer to a command), in mrkdwn: the caller
        escapes every value in it."""
        self._call(f"telling {user}", self._client.chat_postEphemeral, channel=channel, user=user, text=text)

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        self._call("opening a modal", self._client.views_open, trigger_id=trigger_id, view=view)

    def update_view(self, view_id: str, view_hash: str, view: dict[str, Any]) -> None:
        """Replace an open modal; Slack refuses it (hash_conflict) when a newer update came first."""
        self._call("updating a modal", self._client.views_update, view_id=view_id, hash=view_hash, view=view)

    def post_report(self, channel: str, text: str, files: Sequence[Path]) -> str:
        """The summary `text` with the chart `files` as one message in `channel` (a name or an id): all the
        files in one files_upload_v2 call, `text` as its comment. Returns the first file's id (F…), the
        file's for its lifetime (Slack shares the files after it answers, so its answer may hold no message
        ts); with no files, the summary is a plain message and this its ts.

        `text` quotes customers' posts, so it is escaped: no mention or link in it can come alive. (The
        comment has no mrkdwn switch, so *bold* or _italic_ in a quote still shows as such.)"""
        if not files:
            response = self._call(
                "posting a report",
                self._client.chat_postMessage,
                channel=channel,
                text=escape_mrkdwn(text),
                mrkdwn=False,
                unfurl_links=False,
                unfurl_media=False,
            )
            return str(response["ts"])
        # slack-sdk reads each file before its first request, and an OSError there would look like an
        # unreachable Slack (TransientError) though no retry can help
        missing = [str(path) for path in files if not path.is_file()]
        if missing:
            raise PermanentError(f"report charts not found: {', '.join(missing)}")
        response = self._call(
            "uploading a report and its charts",
            self._client.files_upload_v2,
            # slack-sdk passes `channel` on as files.completeUploadExternal's channel_id unchanged, and
            # Slack takes only an id there
            channel=self._channel_id(channel),
            file_uploads=[{"file": str(path), "filename": path.name, "title": path.stem} for path in files],
            initial_comment=escape_mrkdwn(text),
        )
        return str(response["files"][0]["id"])

    def _channel_id(self, channel: str) -> str:
        """The id of `channel`: itself when it is one, else as Slack answered for the name before, else
        looked up once with conversations.list (scopes channels:read, and groups:read for a private one)."""
        if CHANNEL_ID.fullmatch(channel):
            return channel
        if known := self._channel_ids.get(channel):
            return known
        name = channel.removeprefix("#")
        cursor: str | None = None
        while True:
            page = self._call(
                f"looking up channel {channel}",
                self._client.conversations_list,
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=CHANNELS_PAGE,
                cursor=cursor,
            )
            for found in page.get("channels") or []:
                if found.get("name") == name:
                    self._channel_ids[channel] = str(found["id"])
                    return self._channel_ids[channel]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                raise PermanentError(f"slack shows the bot no channel {channel}")

    def _call(self, what: str, method: Callable[..., SlackResponse], **kwargs: Any) -> SlackResponse:
        paced = method == self._client.chat_postMessage
        named = str(kwargs.get("channel", ""))
        channel = self._channel_ids.get(named, named)  # one channel has one turn, by name or by id
        if paced:
            self._pacer.take_turn(channel)
        try:
            response: SlackResponse = method(**kwargs)
        except SlackApiError as err:
            raise translate_slack_error(err, what) from err
        except SlackRequestError as err:  # slack-sdk refused the arguments, or an upload was not taken
            raise PermanentError(f"slack-sdk refused {what}: {err}") from err
        except (urllib.error.URLError, OSError) as err:
            raise TransientError(f"cannot connect to slack: {err}") from err
        if paced:
            answered = str(response.get("channel") or channel)
            if answered != named:
                self._channel_ids[named] = answered
            self._pacer.taken(answered)
        return response

    def note(self, channel: str, thread: str, text: str, *, to: str | None = None) -> str:
        """Shown as typed, so no mention, link or formatting in it can come alive; `to` (a Slack user) is
        mentioned in front of it, so they hear of it."""
        if slack_user(to) is None:
            return self._in_thread(channel, thread, text, plain_note(text), "adding a note")
        elements = [person_element(to), literal(" "), literal(cut(text, SECTION_LIMIT - 100)[0])]
        return self._in_thread(
            channel, thread, f"@{slack_user(to)} {text}", [rich(*elements)], "adding a note"
        )

    def _in_thread(
        self, channel: str, thread: str, text: str, blocks: list[dict[str, Any]], what: str
    ) -> str:
        response = self._call(
            f"{what} to thread {thread}",
            self._client.chat_postMessage,
            channel=channel,
            thread_ts=thread,
            text=fallback(text),
            mrkdwn=False,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response["ts"])
