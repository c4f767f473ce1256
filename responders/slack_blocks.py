"""Block Kit for what Hark shows in Slack. Nothing from a post is ever mrkdwn.

Text a poster or a teammate wrote goes into rich_text `text` elements or plain_text objects, which Slack shows
as typed: `<!channel>`, `<@U…>`, `<url|label>`, `*bold*`, `_italic_`, `~strike~` and backticks stay inert.
mrkdwn carries only Hark's own words, with any value in them escaped.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from hark.records import INTENTS, SENTIMENTS, QueueCard
from platforms.registry import get_platform
from responders.console import card_title

Block = dict[str, Any]

SECTION_LIMIT = 3000  # Slack rejects a section's text longer than this
POST_LIMIT = 2800  # of a post's text on a card; the rest is a click away on the platform
FALLBACK_LIMIT = 200  # the notification text

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


def fallback(text: str) -> str:
    """The notification line of a message (sent with mrkdwn off, and escaped besides)."""
    return escape_mrkdwn(" ".join(text.split()))[:FALLBACK_LIMIT]


def literal(text: str, *, bold: bool = False, italic: bool = False) -> dict[str, Any]:
    """A rich_text element Slack shows exactly as written."""
    element: dict[str, Any] = {"type": "text", "text": text}
    style = {name: True for name, on in (("bold", bold), ("italic", italic)) if on}
    if style:
        element["style"] = style
    return element


def rich(*elements: dict[str, Any], kind: str = "rich_text_section") -> Block:
    return {"type": "rich_text", "elements": [{"type": kind, "elements": list(elements)}]}


def bullets(items: list[list[dict[str, Any]]]) -> Block:
    """A bulleted list, one item of rich_text elements each."""
    return {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_list",
                "style": "bullet",
                "elements": [{"type": "rich_text_section", "elements": item} for item in items],
            }
        ],
    }


def cut(text: str, limit: int) -> tuple[str, int]:
    """The text cut at a word boundary to at most `limit` characters, and how many were left out."""
    if len(text) <= limit:
        return text, 0
    head = text[: limit - 1]  # room for the ellipsis
    space = head.rfind(" ")
    if space > limit * 0.8:  # a long word at the end is cut, rather than losing a fifth of the text
        head = head[:space]
    return head.rstrip() + "…", len(text) - len(head)


def plain_note(text: str) -> list[Block]:
    """A thread note: plain_text, shown as typed."""
    shown, left = cut(text, SECTION_LIMIT - 60)
    if left:
        shown += f" ({left} more characters not shown)"
    return [{"type": "section", "text": {"type": "plain_text", "text": shown, "emoji": False}}]


def card_blocks(card: QueueCard) -> list[Block]:
    who = get_platform(card.platform).display_handle(card.author_handle)
    facts = [literal(who, bold=True), literal(f" on {card.platform}")]
    if card.customer_name:
        facts.append(literal(f" · {card.customer_name} ({card.customer_tier or 'no tier'})"))
    if card.author_followers is not None:
        facts.append(literal(f" · {card.author_followers:,} followers"))
    if card.history_count:
        facts.append(literal(f" · {card.history_count} earlier mentions"))
    text, left = cut(card.text, POST_LIMIT)
    quoted = [literal(text)]
    if left:
        quoted.append(literal(f" ({left} more characters: open the post for the rest)", italic=True))
    blocks: list[Block] = [{"type": "header", "text": {"type": "plain_text", "text": card_title(card)[:150]}}]
    if card.notice:
        blocks.append(rich(literal(f"⚠ {card.notice}", bold=True)))
    blocks += [
        rich(*facts),
        rich(*quoted, kind="rich_text_quote"),
        rich({"type": "link", "url": card.url, "text": "open the post"}),
    ]
    if card.suggested_reply:
        blocks.append(rich(literal("Suggested reply: ", bold=True), literal(card.suggested_reply)))
    if card.similar_replies:
        blocks.append(rich(literal("Sent to similar posts:", bold=True)))
        blocks.append(bullets([[literal(cut(reply, 600)[0])] for reply in card.similar_replies]))
    blocks += state_blocks(card)
    blocks.append(workflow_block(card))
    blocks.append(relabel_block(card))
    return blocks


SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")
STATUS_WORDS = {"new": "New", "claimed": "Claimed", "waiting": "Answered", "resolved": "Resolved"}
SNOOZE_CHOICES = ((60, "1 hour"), (240, "4 hours"), (1440, "1 day"), (4320, "3 days"))
CONFIRM_LIMIT = 300  # a confirm dialog's text


def slack_user(who: str | None) -> str | None:
    """The Slack user id in "slack:<id>", which Hark stores for whoever acted from Slack."""
    if who and who.startswith("slack:") and SLACK_USER.fullmatch(who.removeprefix("slack:")):
        return who.removeprefix("slack:")
    return None


def person(who: str | None) -> str:
    """Who did it, in mrkdwn: a Slack user as a mention of them, anyone else (the CLI, "auto") as text."""
    user = slack_user(who)
    return f"<@{user}>" if user else escape_mrkdwn(who or "nobody")


def person_element(who: str | None) -> dict[str, Any]:
    user = slack_user(who)
    return {"type": "user", "user_id": user} if user else literal(who or "nobody")


def when(at: datetime) -> str:
    """A moment Slack shows in each reader's own time zone (the fallback is UTC)."""
    fallback = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def state_blocks(card: QueueCard) -> list[Block]:
    """The case's status, owner, SLA and snooze (Hark's words), and where the reply to the post stands."""
    state = card.state
    parts = [f"*{STATUS_WORDS.get(state.status, escape_mrkdwn(state.status))}*"]
    if state.assignee:
        parts.append(f"held by {person(state.assignee)}")
    if state.escalated:
        parts.append("escalated")
    if state.sla_due_at:
        parts.append(f"first response due {when(state.sla_due_at)}")
    if state.resolution_due_at:
        parts.append(f"resolve by {when(state.resolution_due_at)}")
    if state.snoozed_until:
        parts.append(f"snoozed until {when(state.snoozed_until)}")
    blocks: list[Block] = [{"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(parts)}]}]
    if card.reply_forbidden:
        blocks.append(rich(literal(card.reply_forbidden, italic=True)))
    reply = _reply_elements(card)
    if reply:
        blocks.append(rich(*reply))
    return blocks


def _reply_elements(card: QueueCard) -> list[dict[str, Any]]:
    state = card.state
    words = literal(cut(state.reply_text or "", 600)[0])
    match state.reply_status:
        case "sent":
            elements = [literal("Replied", bold=True), literal(" by "), person_element(state.reply_by)]
            elements += [literal(": "), words]
            if state.reply_url:
                title = get_platform(card.platform).title
                elements += [
                    literal(" "),
                    {"type": "link", "url": state.reply_url, "text": f"see it on {title}"},
                ]
            return elements
        case "approved" | "sending":
            return [literal("Sending", bold=True), literal(" (approved by "), person_element(state.reply_by)]
        case "failed":
            return [literal("Our reply failed", bold=True), literal(f": {state.reply_error or 'no reason'}")]
        case "blocked":
            return [
                literal("Held back by the reply policy", bold=True),
                literal(f": {state.reply_error or ''}"),
            ]
    return []


def button(text: str, action_id: str, value: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
        **extra,
    }


def reply_length_line(platform: str, text: str) -> str:
    """How long the text is by the platform's own count, against its limit (Hark's words: plain text)."""
    spec = get_platform(platform)
    length = spec.reply_length(text)
    over = f": {length - spec.reply_limit} too many" if length > spec.reply_limit else ""
    return f"{length} of {spec.title}'s {spec.reply_limit}{over}"


REPLY_VIEW = "send_reply"  # the modal's callback_id
REPLY_INPUT = ("reply", "reply_text")  # its input's block_id and action_id
REPLY_LENGTH = "reply_length"  # the block that shows the count, and the action that updates it


def reply_modal(card: QueueCard, text: str, *, channel: str, ts: str) -> dict[str, Any]:
    """The modal to edit the suggested reply, or to write one: the post, the text, its length against the
    platform's limit (updated as one types), and the team's other suggestions to start from."""
    title = get_platform(card.platform).title
    who = get_platform(card.platform).display_handle(card.author_handle)
    post, _ = cut(card.text, 600)
    blocks: list[Block] = [
        rich(literal(f"To {who} on {title}: ", bold=True), literal(post)),
        {
            "type": "input",
            "block_id": REPLY_INPUT[0],
            "dispatch_action": True,  # each keystroke pause sends the text, so the count below follows it
            "label": {"type": "plain_text", "text": "Reply"},
            "element": {
                "type": "plain_text_input",
                "action_id": REPLY_INPUT[1],
                "multiline": True,
                "initial_value": text,
                "dispatch_action_config": {"trigger_actions_on": ["on_character_entered"]},
            },
        },
        {
            "type": "context",
            "block_id": REPLY_LENGTH,
            "elements": [{"type": "plain_text", "text": reply_length_line(card.platform, text)}],
        },
    ]
    others = [t for t in (card.suggested_reply, *card.similar_replies) if t and t != text]
    if others:
        blocks.append(rich(literal("Other suggestions:", bold=True)))
        blocks.append(bullets([[literal(cut(t, 600)[0])] for t in others]))
    return {
        "type": "modal",
        "callback_id": REPLY_VIEW,
        "private_metadata": json.dumps({"mention_id": card.mention_id, "channel": channel, "ts": ts}),
        "title": {"type": "plain_text", "text": f"Reply on {title}"[:24]},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def workflow_block(card: QueueCard) -> Block:
    """The buttons of a card, for its state now: approve (or reply on the platform), claim or unclaim,
    resolve or reopen, escalate, snooze."""
    state = card.state
    value = str(card.mention_id)
    title = get_platform(card.platform).title
    elements: list[dict[str, Any]] = []
    if card.reply_forbidden:
        elements.append(button(f"Reply on {title}", "open_post", value, url=card.url))
    elif card.suggested_reply and state.reply_status not in ("approved", "sending", "sent"):
        confirm = {
            "title": {"type": "plain_text", "text": "Send this reply?"},
            "text": {
                "type": "plain_text",
                "text": cut(f"It goes out on {title} as our account: {card.suggested_reply}", CONFIRM_LIMIT)[
                    0
                ],
            },
            "confirm": {"type": "plain_text", "text": "Send"},
            "deny": {"type": "plain_text", "text": "Not yet"},
        }
        elements.append(button("Approve reply", "approve_reply", value, style="primary", confirm=confirm))
        elements.append(button("Edit & send", "edit_reply", value))
    if not card.reply_forbidden and state.reply_status not in ("approved", "sending", "sent"):
        elements.append(button("Write reply", "write_reply", value))
    elements.append(
        button("Unclaim", "unclaim_case", value) if state.assignee else button("Claim", "claim_case", value)
    )
    elements.append(
        button("Reopen", "reopen_case", value)
        if state.status == "resolved"
        else button("Resolve", "resolve_case", value)
    )
    if not (card.escalated or state.escalated):
        elements.append(button("Escalate", "escalate_case", value, style="danger"))
    elements.append(
        {
            "type": "static_select",
            "action_id": "snooze_case",
            "placeholder": {"type": "plain_text", "text": "Snooze"},
            "options": [
                {"text": {"type": "plain_text", "text": text}, "value": f"{card.mention_id}:{minutes}"}
                for minutes, text in SNOOZE_CHOICES
            ],
        }
    )
    elements.append({"type": "datetimepicker", "action_id": "snooze_until"})  # ... or until a time one picks
    return {"type": "actions", "block_id": f"case:{card.mention_id}", "elements": elements}


def relabel_block(card: QueueCard) -> Block:
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


DIGEST_OPEN = "open_held_card"  # the digest's menu: post one of its cards now
MENU_OPTIONS = 100  # Slack's most options in one static_select


def digest_blocks(cards: list[QueueCard]) -> list[Block]:
    """A burst in one message: each post a line (literal text), and a menu to post any of them now."""
    lines = []
    for card in cards:
        who = get_platform(card.platform).display_handle(card.author_handle)
        words = cut(" ".join(card.text.split()), 120)[0]
        lines.append(
            [
                literal(f"case #{card.case_id} · P{card.priority} · {card.intent} · "),
                literal(who, bold=True),
                literal(f": {words}"),
            ]
        )
    options = [
        {
            "text": {"type": "plain_text", "text": cut(f"#{c.case_id} {c.author_handle}: {c.text}", 70)[0]},
            "value": str(c.mention_id),
        }
        for c in cards[:MENU_OPTIONS]
    ]
    return [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"A burst: {len(cards)} more posts for the queue"},
        },
        rich(
            literal(
                "Each gets its own card as the burst drains; pick one to post its card now.",
                italic=True,
            )
        ),
        bullets(lines),
        {
            "type": "actions",
            "block_id": "digest",
            "elements": [
                {
                    "type": "static_select",
                    "action_id": DIGEST_OPEN,
                    "placeholder": {"type": "plain_text", "text": "Open a card now"},
                    "options": options,
                }
            ],
        },
    ]
