"""Post queue cards to a Slack channel with slack-sdk's WebClient (Block Kit)."""

from __future__ import annotations

import logging
import urllib.error

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from hark.errors import AuthError, PermanentError, TransientError
from hark.records import QueueCard
from responders.console import card_title
from responders.slack_blocks import card_blocks, fallback, plain_note

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

    def post_card(self, card: QueueCard, thread: str | None = None) -> str:
        channel = card.channel or (self._escalation_channel if card.escalated else self._channel)
        try:
            response = self._client.chat_postMessage(
                channel=channel,
                text=fallback(f"{card_title(card)}: {card.text}"),
                mrkdwn=False,
                blocks=card_blocks(card),
                thread_ts=thread,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as err:
            raise translate_slack_error(err, f"posting case {card.case_id}") from err
        except (urllib.error.URLError, OSError) as err:
            raise TransientError(f"cannot connect to slack: {err}") from err
        return str(response["ts"])

    def note(self, channel: str, thread: str, text: str) -> str:
        """A plain_text block: Slack shows it as typed, so no mention, link or formatting can come alive."""
        try:
            response = self._client.chat_postMessage(
                channel=channel,
                thread_ts=thread,
                text=fallback(text),
                mrkdwn=False,
                blocks=plain_note(text),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as err:
            raise translate_slack_error(err, f"adding a note to thread {thread}") from err
        except (urllib.error.URLError, OSError) as err:
            raise TransientError(f"cannot connect to slack: {err}") from err
        return str(response["ts"])
