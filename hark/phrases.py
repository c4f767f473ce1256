"""Whole-word phrase matching in post text: one matcher for keyword rules, products and exclusions alike."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class PhraseSet:
    """Phrases compiled once into one pattern; a phrase matches as whole words, in any case.

    With `prefix=True` a phrase may also start a longer word ("nimbus" finds "nimbusbikes"), which is how
    brand and include terms match; exclusions and rules match whole words only ("ad" is not in "bad").
    """

    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, phrases: Collection[str], *, prefix: bool = False) -> PhraseSet:
        words = [p.strip() for p in phrases if p.strip()]
        if not words:
            return cls(None)
        end = "" if prefix else r"(?!\w)"
        # longest first, so "nimbus cloud" wins over "nimbus" in what a match reports
        alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        return cls(re.compile(rf"(?<!\w)(?:{alternatives}){end}", re.IGNORECASE))

    def __bool__(self) -> bool:
        return self.pattern is not None

    def search(self, text: str) -> re.Match[str] | None:
        """The first phrase found in `text`, or None (always None for an empty set)."""
        return None if self.pattern is None else self.pattern.search(text)


def find_phrase(text: str, phrase: str) -> re.Match[str] | None:
    """The first place `phrase` stands as whole words in `text`, any case: "ad" is not in "bad"."""
    return PhraseSet.of([phrase]).search(text)
