"""Print queue cards and dry-run replies to the terminal, for the embedded default."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from hark.records import PostedCard, QueueCard, ReplyDraft
from platforms.registry import get_platform

_COLOURS = {"negative": "red", "neutral": "yellow", "positive": "green"}


def card_title(card: QueueCard) -> str:
    kind = "ESCALATED" if card.escalated or card.state.escalated else "queue"
    return f"{kind} · case #{card.case_id} · P{card.priority} · {card.intent} · {card.sentiment}"


class ConsoleQueueResponder:
    """Shows each card as a panel. Post text is rendered as plain Text, so it can never inject markup."""

    name = "console"

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(highlight=False)
        self._ids = itertools.count(1)

    def post_card(self, card: QueueCard, thread: str | None = None) -> PostedCard:
        who = get_platform(card.platform).display_handle(card.author_handle)
        body = Text()
        if card.notice:
            body.append(f"{card.notice}\n\n", style="bold red")
        body.append(f"{card.platform} {who}", style="bold")
        if card.customer_name:
            body.append(f"  ({card.customer_name}, {card.customer_tier or 'no tier'})")
        if card.author_followers is not None:
            body.append(f"  {card.author_followers:,} followers")
        if card.history_count:
            body.append(f"  {card.history_count} earlier mentions")
        body.append("\n\n")
        body.append(card.text)
        body.append(f"\n\n{card.url}", style="dim")
        if card.suggested_reply:
            body.append("\nsuggested reply: ", style="italic")
            body.append(card.suggested_reply)
        for earlier in card.similar_replies:
            body.append("\nsent to a similar post: ", style="italic")
            body.append(earlier)
        if thread:
            body.append(f"\n(follow-up in thread {thread})", style="dim")
        self._console.print(
            Panel(body, title=Text(card_title(card)), border_style=_COLOURS[card.sentiment], width=100)
        )
        return PostedCard(card.channel, f"console-{next(self._ids)}")

    def post_digest(self, channel: str, cards: Sequence[QueueCard]) -> PostedCard:
        body = Text()
        for card in cards:
            who = get_platform(card.platform).display_handle(card.author_handle)
            body.append(f"case #{card.case_id} {who} {card.intent}/{card.sentiment}: ")
            body.append(card.text.replace("\n", " ")[:80] + "\n")
        self._console.print(
            Panel(body, title=Text(f"digest · {len(cards)} more posts for {channel}"), width=100)
        )
        return PostedCard(channel, f"console-{next(self._ids)}")

    def update_card(self, channel: str, ref: str, card: QueueCard) -> None:
        state = card.state
        line = Text(f"[case #{card.case_id} {ref}] {state.status}", style="dim")
        if state.assignee:
            line.append(f", held by {state.assignee}")
        if state.reply_status:
            line.append(f", reply {state.reply_status}")
        self._console.print(line)

    def note(self, channel: str, thread: str, text: str, *, to: str | None = None) -> str:
        line = Text(f"[note on {thread}{f' for {to}' if to else ''}] ", style="dim")
        line.append(text)
        self._console.print(line)
        return f"console-{next(self._ids)}"

    def alert(self, text: str, *, thread: str | None = None) -> str:
        line = Text("[on-call] ", style="bold red")
        line.append(text)
        self._console.print(line)
        return f"console-{next(self._ids)}"

    def post_report(self, channel: str, text: str, files: Sequence[Path]) -> str:
        body = Text(text)
        for path in files:
            body.append(f"\nchart: {path}", style="dim")
        self._console.print(Panel(body, title=Text(f"report · {channel}"), width=100))
        return f"console-{next(self._ids)}"


class ConsoleReplyResponder:
    """Dry run: prints the reply that would be posted and returns a made-up id."""

    name = "console-replies"

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(highlight=False)

    def deliver(self, draft: ReplyDraft) -> str:
        line = Text(f"[dry-run reply on {draft.platform} to {draft.in_reply_to}] ", style="cyan")
        line.append(draft.text)
        self._console.print(line)
        return f"dry-run:{draft.idempotency_key}"

    def find(self, draft: ReplyDraft, since: datetime) -> str | None:
        return None  # a dry run posted nothing anywhere: printing it again is harmless
