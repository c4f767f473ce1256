"""Frozen records that stages pass to each other. Records do no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

# A platform module's name (platforms/registry.py). Not a Literal: adding a platform must not touch
# the foundation, and code that acts on a platform looks it up there, where an unknown name raises.
Platform = str
MentionKind = Literal["post", "reply", "quote", "comment"]
Sentiment = Literal["negative", "neutral", "positive"]
Intent = Literal[
    "complaint",
    "support_question",
    "purchase_intent",
    "praise",
    "feature_request",
    "churn_risk",
    "spam",
    "other",
]
SENTIMENTS: tuple[Sentiment, ...] = get_args(Sentiment)
# ISO 639-2's codes for "undetermined" and "no linguistic content": a post in no language we can name.
# A platform's own codes for the same are turned into None where its payload is parsed.
NO_LANGUAGE = frozenset({"und", "zxx"})
INTENTS: tuple[Intent, ...] = get_args(Intent)


def _require_aware(value: datetime, name: str) -> None:
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Author:
    """The platform account that wrote a mention, as the platform describes it."""

    platform: Platform
    user_id: str  # the platform's stable account id (the handle can change, the id cannot)
    handle: str
    display_name: str = ""
    followers: int | None = None
    verified: bool = False
    description: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Mention:
    """One public post that names the brand, as a listener saw it."""

    platform: Platform
    external_id: str  # the post's id on its platform; unique per platform
    source: str  # name of the listener that fetched it
    kind: MentionKind
    author: Author
    text: str
    url: str
    created_at: datetime  # platform time, aware UTC
    language: str | None = None  # as the platform reported it, if it did
    conversation_id: str | None = None  # the external id of the thread's root post
    in_reply_to: str | None = None  # external id of the parent post
    mentions_brand_account: bool = False  # the author @mentioned or quoted one of our accounts
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        _require_aware(self.created_at, "created_at")


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    """What one fetch returned: mentions oldest first, the cursor to pass next, and whether more wait."""

    mentions: tuple[Mention, ...]
    cursor: str | None
    more: bool = False  # the source holds more right now; poll again without waiting
    # pacing from the platform's rate-limit headers: do not fetch again before this time
    not_before: datetime | None = None
    quota_remaining: int | None = None  # requests left in the platform's current window
    quota_reset_at: datetime | None = None  # when that window resets


@dataclass(frozen=True, slots=True, kw_only=True)
class Classification:
    """What a classifier concluded about one mention."""

    model_version: str
    language: str
    relevant: bool
    sentiment: Sentiment
    sentiment_score: float  # probability of the chosen sentiment
    intent: Intent
    intent_scores: Mapping[str, float]
    needs_reply: bool
    priority: int  # 0..100 before customer value is known; linking raises it for VIPs
    # the post's sentence embedding, kept so later posts can find the team's replies to similar ones
    embedding: tuple[float, ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class CardState:
    """Where a card's case and its reply stand now: what every update of the card shows."""

    status: str = "new"  # the case's: new, claimed, waiting, resolved
    assignee: str | None = None  # who claimed it, as "slack:<user id>" or a name from the command line
    escalated: bool = False
    sla_due_at: datetime | None = None  # first response due, while there is none
    resolution_due_at: datetime | None = None  # while the case is open
    snoozed_until: datetime | None = None
    reply_status: str | None = None  # the outbox's, of the reply to this card's post
    reply_text: str | None = None
    reply_by: str | None = None  # who approved or wrote it ("auto" for the policy)
    reply_url: str | None = None  # the reply on the platform, once sent
    reply_error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueCard:
    """A mention as the community team sees it in the queue."""

    case_id: int
    mention_id: int
    platform: Platform
    author_handle: str
    author_followers: int | None
    customer_name: str | None
    customer_tier: str | None
    text: str
    url: str
    sentiment: Sentiment
    intent: Intent
    priority: int
    channel: str
    escalated: bool = False
    history_count: int = 0  # earlier mentions by the same customer
    suggested_reply: str | None = None
    similar_replies: tuple[str, ...] = ()  # what the team sent to the most similar earlier posts
    notice: str | None = None  # what the team must know first, e.g. that our automated reply failed
    # why the platform takes no reply from us to this post (a person answers on the platform itself)
    reply_forbidden: str | None = None
    state: CardState = CardState()


@dataclass(frozen=True, slots=True)
class PostedCard:
    """Where a card went: its channel as the queue names it (Slack: the channel id) and its ref (ts)."""

    channel: str
    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyDraft:
    """A reply waiting in the outbox, addressed to one mention."""

    reply_id: int
    platform: Platform
    in_reply_to: str  # external id of the mention answered
    author_handle: str
    text: str
    idempotency_key: str
    attempts: int = 0  # earlier tries that ended in an error: the platform may hold one of them
    queued_at: datetime | None = None  # when the reply entered the outbox
