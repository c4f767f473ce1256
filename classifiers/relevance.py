"""Decide whether a post is about the brand or only shares its name."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class RelevanceRules:
    """Brand terms and handles that make a post relevant; exclusions that make a bare name noise."""

    terms: tuple[str, ...]
    handles: tuple[str, ...]
    exclude_terms: tuple[str, ...]

    @classmethod
    def build(
        cls, terms: Collection[str], handles: Collection[str], exclude_terms: Collection[str]
    ) -> RelevanceRules:
        return cls(
            tuple(t.lower() for t in terms),
            tuple(h.lower().lstrip("@") for h in handles),
            tuple(t.lower() for t in exclude_terms),
        )

    def is_relevant(self, text: str, *, mentions_brand_account: bool) -> bool:
        """An @mention of our account is always relevant; a bare name is, unless an exclusion explains it."""
        if mentions_brand_account:
            return True
        lowered = text.lower()
        if any(re.search(rf"(?<!\w)[@/]?(u/)?{re.escape(h)}(?!\w)", lowered) for h in self.handles):
            return True
        if any(term in lowered for term in self.exclude_terms):
            return False
        if not self.terms:
            return True
        return any(re.search(rf"(?<!\w){re.escape(term)}", lowered) for term in self.terms)
