"""Block Kit for what Hark shows in Slack. Nothing from a post is ever mrkdwn.

Text a poster or a teammate wrote goes into rich_text `text` elements or plain_text objects, which Slack shows
as typed: `<!channel>`, `<@U…>`, `<url|label>`, `*bold*`, `_italic_`, `~strike~` and backticks stay inert.
mrkdwn carries only Hark's own words, with any value in them escaped.
"""

from __future__ import annotations

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


def cut(text: str, limit: int) -> tuple[str, int]:
    """The text cut at a word boundary to at most `limit` characters, and how many were left out."""
    if len(text) <= limit:
        return text, 0
    head = text[:limit]
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
        blocks.append(
            {
                "type": "rich_text",
                "elements": [
                    {
                        "type": "rich_text_list",
                        "style": "bullet",
                        "elements": [
                            {"type": "rich_text_section", "elements": [literal(cut(reply, 600)[0])]}
                            for reply in card.similar_replies
                        ],
                    }
                ],
            }
        )
    blocks.append(relabel_block(card))
    return blocks


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
