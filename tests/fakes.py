"""Fakes of Hark's own Protocols, for tests of the stages above the platform modules."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from classifiers.scoring import REPLY_INTENTS, base_priority
from hark.errors import TransientError
from hark.records import (
    Batch,
    Classification,
    Intent,
    Mention,
    PostedCard,
    QueueCard,
    ReplyDraft,
    Sentiment,
)
from store.db import Sessions
from store.models import MentionRow
from tests import builders

_KEYWORDS: tuple[tuple[str, Intent, Sentiment], ...] = (
    ("cancel", "churn_risk", "negative"),
    ("switching", "churn_risk", "negative"),
    ("broken", "complaint", "negative"),
    ("late", "complaint", "negative"),
    ("how do i", "support_question", "neutral"),
    ("?", "support_question", "neutral"),
    ("buy", "purchase_intent", "positive"),
    ("love", "praise", "positive"),
    ("please add", "feature_request", "neutral"),
    ("giveaway", "spam", "neutral"),
)


def word_vector(words: Sequence[str], dim: int = 256) -> tuple[float, ...]:
    """A stand-in sentence embedding: words hashed into `dim` counts, so shared words mean similar posts."""
    vector = [0.0] * dim
    for word in words:
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dim] += 1.0
    return tuple(vector)


class KeywordClassifier:
    """A predictable stand-in for the model: the first keyword found decides intent and sentiment."""

    version = "fake-keywords-1"

    def __init__(self, irrelevant_words: Sequence[str] = ("cumulonimbus",)) -> None:
        self._irrelevant = tuple(irrelevant_words)
        self.calls = 0

    def classify(self, mentions: Sequence[Mention]) -> list[Classification]:
        self.calls += 1
        out = []
        for mention in mentions:
            text = mention.text.lower()
            intent: Intent = "other"
            sentiment: Sentiment = "neutral"
            for word, word_intent, word_sentiment in _KEYWORDS:
                if word in text:
                    intent, sentiment = word_intent, word_sentiment
                    break
            relevant = not any(w in text for w in self._irrelevant)
            words = re.findall(r"\w+", text)
            out.append(
                Classification(
                    model_version=self.version,
                    language=mention.language or "en",
                    relevant=relevant,
                    sentiment=sentiment,
                    sentiment_score=0.9,
                    intent=intent,
                    intent_scores={intent: 0.9},
                    needs_reply=relevant and intent in REPLY_INTENTS,
                    embedding=word_vector(words),
                    priority=base_priority(
                        intent=intent,
                        sentiment=sentiment,
                        sentiment_score=0.9,
                        followers=mention.author.followers,
                        relevant=relevant,
                    ),
                )
            )
        return out


class RecordingQueue:
    """Collects the cards it is given; can be told to fail transiently first."""

    name = "recording"

    def __init__(self, failures: int = 0) -> None:
        self.cards: list[tuple[QueueCard, str | None]] = []
        self.notes: list[tuple[str, str, str]] = []
        self.updates: list[tuple[str, QueueCard]] = []
        self.alerts: list[str] = []
        self.digests: list[tuple[str, list[QueueCard]]] = []
        self.called: list[str | None] = []  # whom each note called to it
        self.reports: list[tuple[str, str, list[Path]]] = []
        self._failures = failures

    def post_card(self, card: QueueCard, thread: str | None = None) -> PostedCard:
        if self._failures:
            self._failures -= 1
            raise TransientError("queue unavailable")
        self.cards.append((card, thread))
        return PostedCard(card.channel, f"ts-{len(self.cards)}")

    def post_digest(self, channel: str, cards: Sequence[QueueCard]) -> PostedCard:
        self.digests.append((channel, list(cards)))
        return PostedCard(channel, f"digest-{len(self.digests)}")

    def update_card(self, channel: str, ref: str, card: QueueCard) -> None:
        self.updates.append((ref, card))

    def note(self, channel: str, thread: str, text: str, *, to: str | None = None) -> str:
        self.notes.append((channel, thread, text))
        self.called.append(to)
        return f"note-{len(self.notes)}"

    def alert(self, text: str, *, thread: str | None = None) -> str:
        self.alerts.append(text)
        return f"alert-{len(self.alerts)}"

    def post_report(self, channel: str, text: str, files: Sequence[Path]) -> str:
        self.reports.append((channel, text, list(files)))
        return f"report-{len(self.reports)}"


class RecordingReplier:
    name = "recording-replies"

    def __init__(self) -> None:
        self.drafts: list[ReplyDraft] = []

    def deliver(self, draft: ReplyDraft) -> str:
        self.drafts.append(draft)
        return f"post-{len(self.drafts)}"

    def find(self, draft: ReplyDraft, since: datetime) -> str | None:
        """As a platform would: the post that answers the same target, if one was delivered."""
        for number, sent in enumerate(self.drafts, start=1):
            if sent.in_reply_to == draft.in_reply_to:
                return f"post-{number}"
        return None


class ListListener:
    """Hands out fixed mentions oldest first, `page` at a time, after `failures` transient errors."""

    def __init__(self, name: str, mentions: Sequence[Mention], *, page: int = 10, failures: int = 0) -> None:
        self.name = name
        self.interval_s = 60
        self._mentions = list(mentions)
        self._page = page
        self.failures_left = failures

    def fetch(self, cursor: str | None) -> Batch:
        if self.failures_left:
            self.failures_left -= 1
            raise TransientError("flaky source", retry_after_s=1)
        start = int(cursor or 0)
        chunk = tuple(self._mentions[start : start + self._page])
        return Batch(
            mentions=chunk, cursor=str(start + len(chunk)), more=start + len(chunk) < len(self._mentions)
        )


def one_classified_mention(sessions: Sessions, text: str = "@NimbusCycles I love it") -> int:
    """Ingest one mention through the pipeline, label it with KeywordClassifier, return its row id."""
    from app.pipeline import classify_pending, poll_once

    poll_once(ListListener("src", [builders.mention(1, text)]), sessions, builders.own_accounts())
    classify_pending(sessions, KeywordClassifier(), 10)
    with sessions() as session:
        return session.scalars(sa.select(MentionRow.id)).one()
