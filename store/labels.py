"""Human label corrections: stored beside the model's labels, and they win."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from hark.records import INTENTS, SENTIMENTS, Classification
from store.models import AuditLogRow, ClassificationRow, LabelCorrectionRow, MentionRow

BOOLEAN_FIELDS = ("needs_reply", "relevant")
ALLOWED: dict[str, tuple[str, ...]] = {
    "sentiment": SENTIMENTS,
    "intent": INTENTS,
    "needs_reply": ("true", "false"),
    "relevant": ("true", "false"),
}


@dataclass(frozen=True, slots=True)
class Labels:
    """The labels a mention carries now: the newest model output with every correction applied."""

    sentiment: str
    sentiment_score: float  # the model's, for its own sentiment
    intent: str
    needs_reply: bool
    relevant: bool
    priority: int
    model_version: str
    language: str  # as the classifier decided it (the platform's code when it gave one)
    corrected: tuple[str, ...]  # the fields a person changed
    intent_scores: dict[str, float]  # the model's, even where a person corrected the intent


def add_classifications(session: so.Session, labelled: Sequence[tuple[int, Classification]]) -> None:
    """Store the model's labels of each mention id and mark those mentions classified."""
    now = datetime.now(UTC)
    for mention_id, label in labelled:
        session.add(
            ClassificationRow(
                mention_id=mention_id,
                model_version=label.model_version,
                language=label.language,
                relevant=label.relevant,
                sentiment=label.sentiment,
                sentiment_score=label.sentiment_score,
                intent=label.intent,
                intent_scores=dict(label.intent_scores),
                needs_reply=label.needs_reply,
                priority=label.priority,
                created_at=now,
            )
        )
    ids = [mention_id for mention_id, _ in labelled]
    if ids:
        session.execute(sa.update(MentionRow).where(MentionRow.id.in_(ids)).values(classified_at=now))


def record_correction(
    session: so.Session, mention_id: int, field: str, value: str, by: str
) -> LabelCorrectionRow | None:
    """Store a person's label; None when the label already has that value (nothing to record or announce).
    Raises ValueError for an unknown field, value or mention."""
    if field not in ALLOWED:
        raise ValueError(f"cannot correct {field!r}; fields: {', '.join(ALLOWED)}")
    value = value.lower()
    if value not in ALLOWED[field]:
        raise ValueError(f"{field} must be one of {', '.join(ALLOWED[field])}, not {value!r}")
    if session.get(MentionRow, mention_id) is None:
        raise ValueError(f"no mention with id {mention_id}")
    current = effective_labels(session, mention_id)
    old = None if current is None else str(getattr(current, field)).lower()
    if old == value:
        return None
    now = datetime.now(UTC)
    row = LabelCorrectionRow(
        mention_id=mention_id, field=field, old_value=old, new_value=value, corrected_by=by, created_at=now
    )
    session.add(row)
    session.add(
        AuditLogRow(
            at=now,
            actor=by,
            action="label_corrected",
            subject=f"mention:{mention_id}",
            detail={"field": field, "old": old, "new": value},
        )
    )
    session.flush()
    return row


def _corrections(session: so.Session, mention_id: int) -> dict[str, str]:
    rows = session.scalars(
        sa.select(LabelCorrectionRow)
        .where(LabelCorrectionRow.mention_id == mention_id)
        .order_by(LabelCorrectionRow.id)
    )
    return {row.field: row.new_value for row in rows}  # later corrections overwrite earlier ones


def labels_for(session: so.Session, mention_ids: Collection[int]) -> dict[int, Labels]:
    """Labels of many mentions in two queries; unclassified mentions are left out."""
    if not mention_ids:
        return {}
    latest: dict[int, ClassificationRow] = {}
    for row in session.scalars(
        sa.select(ClassificationRow)
        .where(ClassificationRow.mention_id.in_(mention_ids))
        .order_by(ClassificationRow.id)
    ):
        latest[row.mention_id] = row  # ordered by id: the newest model output wins
    fixes: dict[int, dict[str, str]] = {}
    for correction in session.scalars(
        sa.select(LabelCorrectionRow)
        .where(LabelCorrectionRow.mention_id.in_(mention_ids))
        .order_by(LabelCorrectionRow.id)
    ):
        fixes.setdefault(correction.mention_id, {})[correction.field] = correction.new_value
    return {mention_id: _apply(model, fixes.get(mention_id, {})) for mention_id, model in latest.items()}


def _apply(model: ClassificationRow, fixes: dict[str, str]) -> Labels:
    return Labels(
        sentiment=fixes.get("sentiment", model.sentiment),
        sentiment_score=model.sentiment_score,
        intent=fixes.get("intent", model.intent),
        needs_reply=fixes["needs_reply"] == "true" if "needs_reply" in fixes else model.needs_reply,
        relevant=fixes["relevant"] == "true" if "relevant" in fixes else model.relevant,
        priority=model.priority,
        model_version=model.model_version,
        language=model.language,
        corrected=tuple(sorted(fixes)),
        intent_scores={str(k): float(v) for k, v in model.intent_scores.items()},
    )


def effective_labels(session: so.Session, mention_id: int) -> Labels | None:
    """None when the mention has not been classified yet."""
    model = session.scalar(
        sa.select(ClassificationRow)
        .where(ClassificationRow.mention_id == mention_id)
        .order_by(ClassificationRow.id.desc())
        .limit(1)
    )
    return None if model is None else _apply(model, _corrections(session, mention_id))


def find_mention_id(session: so.Session, ref: str) -> int | None:
    """The id of the mention a person means by its id or by `platform:external_id`."""
    if ref.isdigit():
        return session.scalar(sa.select(MentionRow.id).where(MentionRow.id == int(ref)))
    platform, _, external = ref.partition(":")
    return session.scalar(
        sa.select(MentionRow.id).where(MentionRow.platform == platform, MentionRow.external_id == external)
    )


def corrected_texts(session: so.Session) -> list[tuple[str, dict[str, str]]]:
    """Each corrected mention's text with its newest value per corrected field, for retraining."""
    mention_ids = session.scalars(sa.select(LabelCorrectionRow.mention_id).distinct()).all()
    out = []
    for mention_id in mention_ids:
        text = session.scalar(sa.select(MentionRow.text).where(MentionRow.id == mention_id))
        if text:  # a forgotten customer's text is gone, and so is what it could teach
            out.append((text, _corrections(session, mention_id)))
    return out
