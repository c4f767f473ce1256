"""Label corrections: validated, audited, and they win over the model."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from classifiers.datasets import examples_from_corrections
from store.db import Sessions
from store.labels import corrected_texts, effective_labels, record_correction
from store.models import AuditLogRow, LabelCorrectionRow
from tests.fakes import one_classified_mention


@pytest.fixture
def mention_id(sessions: Sessions) -> int:
    return one_classified_mention(sessions)


def test_correction_wins_and_is_audited(sessions: Sessions, mention_id: int) -> None:
    with sessions.begin() as session:
        before = effective_labels(session, mention_id)
        assert before is not None
        assert (before.intent, before.corrected) == ("praise", ())
        record_correction(session, mention_id, "intent", "feature_request", "ana")
        record_correction(session, mention_id, "needs_reply", "true", "ana")
    with sessions() as session:
        after = effective_labels(session, mention_id)
        audit = session.scalars(sa.select(AuditLogRow)).all()
    assert after is not None
    assert (after.intent, after.needs_reply, after.sentiment) == ("feature_request", True, before.sentiment)
    assert after.corrected == ("intent", "needs_reply")
    assert [(a.actor, a.detail["field"], a.detail["old"], a.detail["new"]) for a in audit] == [
        ("ana", "intent", "praise", "feature_request"),
        ("ana", "needs_reply", "false", "true"),
    ]


def test_a_label_set_to_the_value_it_has_records_nothing(sessions: Sessions, mention_id: int) -> None:
    with sessions.begin() as session:
        assert record_correction(session, mention_id, "intent", "praise", "ana") is None  # the model's label
        assert record_correction(session, mention_id, "intent", "complaint", "ana") is not None
        assert record_correction(session, mention_id, "intent", "complaint", "bo") is None
    with sessions() as session:
        rows = session.scalars(sa.select(LabelCorrectionRow)).all()
        audit = session.scalars(sa.select(AuditLogRow)).all()
    assert [(r.old_value, r.new_value, r.corrected_by) for r in rows] == [("praise", "complaint", "ana")]
    assert len(audit) == 1


def test_the_newest_correction_of_a_field_wins(sessions: Sessions, mention_id: int) -> None:
    with sessions.begin() as session:
        record_correction(session, mention_id, "sentiment", "negative", "ana")
        record_correction(session, mention_id, "sentiment", "neutral", "bo")
    with sessions() as session:
        labels = effective_labels(session, mention_id)
        pairs = corrected_texts(session)
    assert labels is not None
    assert labels.sentiment == "neutral"
    assert pairs == [("@NimbusCycles I love it", {"sentiment": "neutral"})]
    (example,) = examples_from_corrections(pairs)
    assert (example.sentiment, example.intent, example.needs_reply) == ("neutral", None, None)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("mood", "happy", "cannot correct 'mood'"), ("intent", "rant", "intent must be one of")],
)
def test_bad_corrections_are_refused(
    sessions: Sessions, mention_id: int, field: str, value: str, message: str
) -> None:
    with sessions.begin() as session, pytest.raises(ValueError, match=message):
        record_correction(session, mention_id, field, value, "ana")
