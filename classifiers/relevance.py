"""Decide whether a post is about the brand or only shares its name."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from hark.brand import BrandConfig
from hark.handles import handle_key
from hark.phrases import PhraseSet


@dataclass(frozen=True)
class RelevanceRules:
    """Brand terms and handles that make a post relevant; exclusions that make a bare name noise."""

    terms: PhraseSet  # at a word start: "nimbus" finds "#nimbus" and "Nimbus's", not "cumulonimbus"
    handles: re.Pattern[str] | None
    exclude_terms: PhraseSet  # whole words: an exclusion "ad" drops "an ad for" but not "bad"

    @classmethod
    def build(
        cls, terms: Collection[str], handles: Collection[str], exclude_terms: Collection[str]
    ) -> RelevanceRules:
        keys = sorted({handle_key(h) for h in handles if handle_key(h)}, key=len, reverse=True)
        # a handle as people write it: @name, u/name, /u/name or the bare name
        pattern = "|".join(re.escape(k) for k in keys)
        return cls(
            PhraseSet.of(terms, prefix=True),
            re.compile(rf"(?<!\w)[@/]?(?:u/)?(?:{pattern})(?!\w)", re.IGNORECASE) if keys else None,
            PhraseSet.of(exclude_terms),
        )

    @classmethod
    def for_brand(cls, brand: BrandConfig) -> RelevanceRules:
        return cls.build(brand.terms, brand.handles, brand.exclude_terms)

    def is_relevant(self, text: str, *, mentions_brand_account: bool) -> bool:
        """An @mention of our account is always relevant; a bare name is, unless an exclusion explains it."""
        if mentions_brand_account:
            return True
        if self.handles is not None and self.handles.search(text):
            return True
        if self.exclude_terms.search(text):
            return False
        if not self.terms:
            return True
        return self.terms.search(text) is not None
