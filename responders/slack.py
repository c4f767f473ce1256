"""Post queue cards to a Slack channel with slack-sdk's WebClient (Block Kit)."""

from __future__ import annotations

import logging
import urllib.error
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from hark.errors import AuthError, PermanentError, TransientError
from hark.records import INTENTS, SENTIMENTS, QueueCard
from platforms.registry import get_platform
from responders.console import card_title

log = logging.getLogger(__name__)

AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "account_inactive", "token_expired"})
SECTION_LIMIT = 3000  # Slack rejects section text longer than this

# The label menus on every card: field -> (placeholder, [(value, option text)]).
# Each option's value is "<mention id>:<label>", so a click needs no lookup of the card.
RELABEL_MENUS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "sentiment": ("Sentiment", tuple((s, s.capitalize()) for s in SENTIMENTS)),
    "intent": ("Intent", tuple((i, i.replace("_", " ").capitalize()) for i in INTENTS)),
    "needs_reply": ("Reply?", (("true", "Needs a reply"), ("false", "No reply needed"))),
    "relevant": ("About us?", (("true", "About us"), ("false", "Not about us"))),
}


def escape_mrkdwn(text: str) -> str:
    """Slack's own escaping: with &, < and > escaped, <!channel>, <@U…> and <url|label> are inert text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def card_blocks(card: QueueCard) -> list[dict[str, Any]]:
    who = get_platform(card.platform).display_handle(card.author_handle)
    facts = [f"*{escape_mrkdwn(who)}* on {card.platform}"]
    if card.customer_name:
        facts.append(
            f"{escape_mrkdwn(card.customer_name)} ({escape_mrkdwn(card.customer_tier or 'no tier')})"
        )
    if card.author_followers is not None:
        facts.append(f"{card.author_followers:,} followers")
    if card.history_count:
        facts.append(f"{card.history_count} earlier mentions")
    notice = (
        [{"type": "section", "text": {"type": "plain_text", "text": f"⚠ {card.notice}"[:SECTION_LIMIT]}}]
        if card.notice
        else []
    )
    quoted = "\n".join(f"&gt; {line}" for line in escape_mrkdwn(card.text).splitlines() or [""])
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": card_title(card)[:150]}},
        *notice,
        {"type": "section", "text": {"type": "mrkdwn", "text": " · ".join(facts)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": quoted[:SECTION_LIMIT]}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"<{escape_mrkdwn(card.url)}|open the post>"}],
        },
    ]
    if card.suggested_reply:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*Suggested reply:* {escape_mrkdwn(card.suggested_reply)}",
                },
            }
        )
    if card.similar_replies:
        earlier = "\n".join(f"• {escape_mrkdwn(text)}" for text in card.similar_replies)
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*Sent to similar posts:*\n{earlier}"[:SECTION_LIMIT]},
            }
        )
    blocks.append(relabel_block(card))
    return blocks


def relabel_block(card: QueueCard) -> dict[str, Any]:
    """One menu per correctable label; the model's sentiment and intent are preselected."""
    current = {"sentiment": card.sentiment, "intent": card.intent}
    elements = []
    for field, (placeholder, choices) in RELABEL_MENUS.items():
        options = [
            {"text": {"type": "plain_text", "text": text}, "value": f"{card.mention_id}:{value}"}
            for value, text in choices
        ]
        menu: dict[str, Any] = {
            "type": "static_select",
            "action_id": f"relabel_{field}",
            "placeholder": {"type": "plain_text", "text": placeholder},
            "options": options,
        }
        chosen = [o for o, (value, _) in zip(options, choices, strict=True) if value == current.get(field)]
        if chosen:
            menu["initial_option"] = chosen[0]
        elements.append(menu)
    return {"type": "actions", "block_id": f"relabel:{card.mention_id}", "elements": elements}


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
                text=f"{card_title(card)}: {escape_mrkdwn(card.text)[:200]}",  # notification fallback
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
                text=escape_mrkdwn(text)[:200],  # notification fallback
                blocks=[
                    {
                        "type": "section",
                        "text": {"type": "plain_text", "text": text[:SECTION_LIMIT], "emoji": False},
                    }
                ],
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as err:
            raise translate_slack_error(err, f"adding a note to thread {thread}") from err
        except (urllib.error.URLError, OSError) as err:
            raise TransientError(f"cannot connect to slack: {err}") from err
        return str(response["ts"])
