"""The classifier contract."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hark.records import Classification, Mention

# How many mentions the runner hands classify() at once; `hark bench classify` calls it the same way.
# A bigger call lets the encoder sort more texts by length (less padding): 1,024 measured ~15% faster
# than 256, and labels still commit within seconds.
MENTIONS_PER_CALL = 1024


class Classifier(Protocol):
    """Labels mentions.

    classify() is pure: it MUST return one Classification per mention, in the same order, and
    MUST NOT touch the network or the database. `version` names the model and heads, and is
    stored with every label.
    """

    version: str

    def classify(self, mentions: Sequence[Mention]) -> list[Classification]: ...
