"""Replies the team sent to posts like this one: cosine similarity of the classifier's own embeddings."""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.models import MentionVectorRow, ReplyRow
from store.replies import AUTO

MIN_SIMILARITY = 0.3  # below this a suggestion is about something else


def pack(vector: Sequence[float]) -> bytes:
    return array("f", vector).tobytes()


def unpack(blob: bytes) -> array[float]:
    values = array("f")
    values.frombytes(blob)
    return values


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def add_vectors(session: so.Session, vectors: Sequence[tuple[int, str, Sequence[float]]]) -> None:
    """Keep each mention's embedding (mention id, model version, vector); a mention has one."""
    for mention_id, model_version, vector in vectors:
        if vector:
            session.merge(
                MentionVectorRow(mention_id=mention_id, model_version=model_version, vector=pack(vector))
            )


class ReplyIndex:
    """The replies people sent, with the embeddings of the posts they answered, read once per model
    version: a route batch asks it for every card without reading them again."""

    def __init__(self, session: so.Session) -> None:
        self._session = session
        self._by_model: dict[str, list[tuple[int, str, array[float]]]] = {}

    def _candidates(self, model_version: str) -> list[tuple[int, str, array[float]]]:
        if model_version not in self._by_model:
            rows = self._session.execute(
                sa.select(ReplyRow.mention_id, ReplyRow.text, MentionVectorRow.vector)
                .join(MentionVectorRow, MentionVectorRow.mention_id == ReplyRow.mention_id)
                .where(
                    ReplyRow.status == "sent",
                    sa.or_(ReplyRow.approved_by.is_(None), ReplyRow.approved_by != AUTO),  # people's words
                    MentionVectorRow.model_version == model_version,
                )
            ).all()
            self._by_model[model_version] = [(mid, text, unpack(blob)) for mid, text, blob in rows]
        return self._by_model[model_version]

    def similar(self, mention_id: int, k: int = 3) -> list[tuple[str, float]]:
        """Up to `k` replies a person approved or wrote to the posts most like this one (same model's
        embeddings), most similar first, each text once."""
        own = self._session.get(MentionVectorRow, mention_id)
        if own is None:
            return []
        target = unpack(own.vector)
        best: dict[str, float] = {}
        for answered, text, vector in self._candidates(own.model_version):
            if answered == mention_id:
                continue
            score = _cosine(target, vector)
            if score >= MIN_SIMILARITY and score > best.get(text, -1.0):
                best[text] = score
        return sorted(best.items(), key=lambda item: -item[1])[:k]


def similar_replies(session: so.Session, mention_id: int, k: int = 3) -> list[tuple[str, float]]:
    """ReplyIndex.similar for one mention."""
    return ReplyIndex(session).similar(mention_id, k)
