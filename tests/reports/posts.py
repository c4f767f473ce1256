"""Labelled posts written straight into the store, as the classify stage leaves them, for report tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy.orm as so

from store.models import ClassificationRow, CustomerRow, MentionRow, MentionVectorRow
from store.similar_replies import pack

MODEL = "test-model"
_ids = itertools.count(1)


def customer(session: so.Session, name: str, *, tier: str | None = None) -> CustomerRow:
    now = datetime.now(UTC)
    row = CustomerRow(name=name, tier=tier, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row


def topic_vector(topic: int, noise: float = 0.1, dims: int = 32, seed: int | None = None) -> list[float]:
    """A unit vector near topic `topic`'s own direction: posts of one topic are near each other."""
    rng = np.random.default_rng(seed if seed is not None else next(_ids))
    center = np.random.default_rng(1000 + topic).normal(size=dims)
    vector = center / np.linalg.norm(center) + rng.normal(scale=noise, size=dims)
    return [float(v) for v in vector / np.linalg.norm(vector)]


def post(
    session: so.Session,
    at: datetime,
    *,
    text: str = "a post about Nimbus",
    platform: str = "x",
    sentiment: str = "neutral",
    intent: str = "other",
    relevant: bool = True,
    score: float = 0.9,
    priority: int = 10,
    customer_id: int | None = None,
    vector: list[float] | None = None,
    raw: dict[str, Any] | None = None,
    classified: bool = True,
    source: str | None = None,
) -> MentionRow:
    """One mention created at `at`, with one classification (unless not `classified`) and its embedding."""
    n = next(_ids)
    row = MentionRow(
        platform=platform,
        external_id=f"r{n}",
        source=source or f"{platform}-test",
        kind="post",
        author_user_id=f"u{n}",
        author_handle=f"user{n}",
        text=text,
        url=f"https://example.com/{n}",
        created_at=at,
        fetched_at=at,
        raw=raw or {},
        classified_at=at if classified else None,
        customer_id=customer_id,
    )
    session.add(row)
    session.flush()
    if classified:
        session.add(
            ClassificationRow(
                mention_id=row.id,
                model_version=MODEL,
                language="en",
                relevant=relevant,
                sentiment=sentiment,
                sentiment_score=score,
                intent=intent,
                intent_scores={intent: score},
                needs_reply=intent in ("complaint", "support_question"),
                priority=priority,
                created_at=at,
            )
        )
    if vector is not None:
        session.add(MentionVectorRow(mention_id=row.id, model_version=MODEL, vector=pack(vector)))
    session.flush()
    return row
