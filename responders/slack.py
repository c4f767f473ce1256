"""Post queue cards to a Slack channel with slack-sdk's WebClient (Block Kit)."""

from __future__ import annotations

import logging
import urllib.error
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from hark.errors import AuthError, PermanentError, TransientError
from hark.records import PostedCard, QueueCard
from responders.console import card_title
from responders.slack_blocks import card_blocks, fallback, plain_note, rich

log = logging.getLogger(__name__)

AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "account_inactive", "token_expired"})


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


class SlackQueueResponder:
    """Cards go to the queue channel; escalations go to the escalation channel."""

    name = "slack"

    def __init__(self, client: WebClient, *, channel: str, escalation_channel: str) -> None:
        self._client = client
        self._channel = channel
        self._escalation_channel = escalation_channel

    @classmethod
    def from_token(
        cls, token: str, *, base_url: str, channel: str, escalation_channel: str
    ) -> SlackQueueResponder:
        return cls(
            WebClient(token=token, base_url=base_url, timeout=10),
            channel=channel,
            escalation_channel=escalation_channel,
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

    def update_card(self, channel: str, ref: str, card: QueueCard) -> None:
        """Show the card's state now, in place (chat.update keeps its thread and its place in the channel)."""
        self._call(
            f"updating the card of case {card.case_id}",
            self._client.chat_update,
            channel=channel,
            ts=ref,
            text=fallback(f"{card_title(card)}: {card.text}"),
            blocks=card_blocks(card),
        )

    def history(self, channel: str, thread: str, elements: list[dict[str, Any]]) -> str:
        """One line of a case's history in its thread, as rich text (literal words, real user mentions)."""
        text = "".join(str(e.get("text") or (f"@{e['user_id']}" if "user_id" in e else "")) for e in elements)
        return self._in_thread(channel, thread, text, [rich(*elements)], "adding history")

    def alert(self, channel: str, text: str, *, thread: str | None = None) -> str:
        """A message of Hark's own words in mrkdwn, where a mention of a user group must notify (on-call)."""
        response = self._call(
            f"alerting {channel}", self._client.chat_postMessage, channel=channel, thread_ts=thread, text=text
        )
        return str(response["ts"])

    def tell(self, channel: str, user: str, text: str) -> None:
        """An ephemeral message only `user` sees (a refusal, an answer to a command), in mrkdwn: the caller
        escapes every value in it."""
        self._call(f"telling {user}", self._client.chat_postEphemeral, channel=channel, user=user, text=text)

    def _call(self, what: str, method: Callable[..., SlackResponse], **kwargs: Any) -> SlackResponse:
        try:
            response: SlackResponse = method(**kwargs)
        except SlackApiError as err:
            raise translate_slack_error(err, what) from err
        except (urllib.error.URLError, OSError) as err:
            raise TransientError(f"cannot connect to slack: {err}") from err
        return response

    def note(self, channel: str, thread: str, text: str) -> str:
        """A plain_text block: Slack shows it as typed, so no mention, link or formatting can come alive."""
        return self._in_thread(channel, thread, text, plain_note(text), "adding a note")

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
