"""Accuracy, macro-F1, macro-recall and confusion matrices, without extra dependencies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    n: int
    accuracy: float
    macro_f1: float
    macro_recall: float
    labels: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]  # rows: gold label, columns: predicted label

    def as_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "macro_recall": round(self.macro_recall, 4),
            "labels": list(self.labels),
            "confusion": [list(row) for row in self.confusion],
        }


def score(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None) -> Scores:
    """Macro averages run over the gold labels present, so an absent class does not count as zero."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    names = tuple(labels) if labels else tuple(sorted(set(gold) | set(predicted)))
    index = {name: i for i, name in enumerate(names)}
    matrix = [[0] * len(names) for _ in names]
    for g, p in zip(gold, predicted, strict=True):
        matrix[index[g]][index[p]] += 1
    f1s, recalls = [], []
    for i, name in enumerate(names):
        if name not in gold:
            continue
        tp = matrix[i][i]
        support = sum(matrix[i])
        predicted_n = sum(row[i] for row in matrix)
        recall = tp / support if support else 0.0
        precision = tp / predicted_n if predicted_n else 0.0
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    correct = sum(matrix[i][i] for i in range(len(names)))
    return Scores(
        n=len(gold),
        accuracy=correct / len(gold) if gold else 0.0,
        macro_f1=sum(f1s) / len(f1s) if f1s else 0.0,
        macro_recall=sum(recalls) / len(recalls) if recalls else 0.0,
        labels=names,
        confusion=tuple(tuple(row) for row in matrix),
    )


def binary_f1(gold: Sequence[bool], predicted: Sequence[bool]) -> float:
    tp = sum(g and p for g, p in zip(gold, predicted, strict=True))
    fp = sum(p and not g for g, p in zip(gold, predicted, strict=True))
    fn = sum(g and not p for g, p in zip(gold, predicted, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
