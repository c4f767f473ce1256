"""Score a classifier on labelled examples: accuracy, macro-F1 and confusion per task."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from classifiers.base import Classifier
from classifiers.datasets import Example
from classifiers.metrics import binary_f1, score
from hark.records import INTENTS, SENTIMENTS, Author, Mention

EVAL_BATCH = 256
NO_PLATFORM = "text"  # not a registered platform: classifiers never act on a mention's platform


def as_mentions(texts: Sequence[str]) -> list[Mention]:
    """Labelled texts have no platform context; they are scored as plain posts."""
    now = datetime.now(UTC)
    author = Author(platform=NO_PLATFORM, user_id="eval", handle="eval")
    return [
        Mention(
            platform=NO_PLATFORM,
            external_id=str(i),
            source="eval",
            kind="post",
            author=author,
            text=text,
            url="",
            created_at=now,
        )
        for i, text in enumerate(texts)
    ]


def evaluate_classifier(classifier: Classifier, examples: Sequence[Example]) -> dict[str, Any]:
    """Tasks without gold labels in the examples are left out of the result."""
    predictions = []
    for start in range(0, len(examples), EVAL_BATCH):
        chunk = examples[start : start + EVAL_BATCH]
        predictions += classifier.classify(as_mentions([e.text for e in chunk]))
    out: dict[str, Any] = {"n": len(examples), "model_version": classifier.version}
    for task, labels in (("sentiment", SENTIMENTS), ("intent", INTENTS)):
        pairs = [
            (getattr(e, task), getattr(p, task))
            for e, p in zip(examples, predictions, strict=True)
            if getattr(e, task) is not None
        ]
        if pairs:
            out[task] = score([g for g, _ in pairs], [p for _, p in pairs], labels).as_dict()
    replies = [
        (e.needs_reply, p.needs_reply)
        for e, p in zip(examples, predictions, strict=True)
        if e.needs_reply is not None
    ]
    if replies:
        out["needs_reply"] = {
            "n": len(replies),
            "f1": round(binary_f1([g for g, _ in replies], [p for _, p in replies]), 4),
            "accuracy": round(sum(g == p for g, p in replies) / len(replies), 4),
        }
    return out
