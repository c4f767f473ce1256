"""The classifier contract."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hark.records import Classification, Mention


class Classifier(Protocol):
    """Labels mentions.

    classify() is pure: it MUST return one Classification per mention, in the same order, and
    MUST NOT touch the network or the database. `version` names the model and heads, and is
    stored with every label.
    """

    version: str

    def classify(self, mentions: Sequence[Mention]) -> list[Classification]: ...
