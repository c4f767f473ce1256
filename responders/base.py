"""The responder contracts: one for the team's queue, one for replies on the platforms."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from hark.records import PostedCard, QueueCard, ReplyDraft


class QueueResponder(Protocol):
    """Shows a mention to the community team.

    post_card() MUST post the card once and return where it went (Slack: the channel's id and the message ts).
    When `thread` is given the card answers that earlier reference. It MUST raise
    TransientError, AuthError or PermanentError, never an SDK exception.
    """

    name: str

    def post_card(self, card: QueueCard, thread: str | None = None) -> PostedCard: ...

    def post_digest(self, channel: str, cards: Sequence[QueueCard]) -> PostedCard:
        """One message that lists `cards` instead of posting each (a burst): each card follows later, or at
        once when someone opens it from the digest. Errors as for post_card."""
        ...

    def update_card(self, channel: str, ref: str, card: QueueCard) -> None:
        """Show `card` (its state now) in place of the card posted as `ref`. Errors as for post_card."""
        ...

    def note(self, channel: str, thread: str, text: str, *, to: str | None = None) -> str:
        """Add `text`, verbatim (never formatting), to the thread of the card `thread` in `channel`, calling
        `to` (who holds the case, say) to it; return the new message's reference. Errors as for post_card."""
        ...

    def alert(self, text: str, *, thread: str | None = None) -> str:
        """Tell the on-call people, where escalations go (`text` verbatim); return the message's reference."""
        ...

    def post_report(self, channel: str, text: str, files: Sequence[Path]) -> str:
        """Post a report's summary `text` (verbatim: it quotes customers) with its chart `files` to
        `channel`, as one message; return a reference to it. Errors as for post_card."""
        ...


class ReplyResponder(Protocol):
    """Posts a reply on a platform.

    deliver() MUST post the draft once and return the platform's id of the new post; it MUST NOT
    retry (the outbox decides). Errors as for QueueResponder.

    find() is asked after a crash left a reply `sending`: it MUST return the id of our reply to
    `draft.in_reply_to` posted at or after `since` when the platform shows one, and None only when the
    platform certainly has none (then the reply is sent again, once). When it cannot tell it MUST raise,
    and a person checks.
    """

    name: str

    def deliver(self, draft: ReplyDraft) -> str: ...

    def find(self, draft: ReplyDraft, since: datetime) -> str | None: ...
