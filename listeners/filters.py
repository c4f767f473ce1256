"""Brand-mention filters: one rule set, applied the same way to every source's batches."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hark.brand import OwnAccounts
from hark.handles import handle_key
from hark.phrases import PhraseSet
from hark.records import NO_LANGUAGE, Batch, Mention
from listeners.base import Listener
from listeners.config import MentionFilterConfig


@dataclass(frozen=True)
class MentionFilter:
    """Decides which fetched posts are mentions. Our own posts always pass: poll_once records them."""

    own: OwnAccounts
    include: PhraseSet  # at a word start: "nimbus" finds "#nimbus" and "Nimbus's", not "cumulonimbus"
    exclude: PhraseSet  # whole words: an exclusion "ad" drops "an ad for" but not "bad"
    blocked: frozenset[str]
    min_followers: int
    languages: frozenset[str]

    @classmethod
    def build(cls, cfg: MentionFilterConfig, own: OwnAccounts) -> MentionFilter:
        return cls(
            own=own,
            include=PhraseSet.of(cfg.include_terms, prefix=True),
            exclude=PhraseSet.of(cfg.exclude_terms),
            blocked=frozenset(handle_key(a) for a in cfg.blocked_authors),
            min_followers=cfg.min_followers,
            languages=frozenset(lang.lower() for lang in cfg.languages),
        )

    def drop_reason(self, mention: Mention) -> str | None:
        """None if the mention passes; else the rule that dropped it."""
        if self.own.owns(mention):
            return None
        return self._author_reason(mention) or self._text_reason(mention)

    def _author_reason(self, mention: Mention) -> str | None:
        author = mention.author
        if handle_key(author.handle) in self.blocked or author.user_id.lower() in self.blocked:
            return "blocked_author"
        if self.min_followers and author.followers is not None and author.followers < self.min_followers:
            return "min_followers"
        language = (mention.language or "").lower()
        if self.languages and language and language not in NO_LANGUAGE and language not in self.languages:
            return "language"
        return None

    def _text_reason(self, mention: Mention) -> str | None:
        if mention.mentions_brand_account:  # addressed to us: terms cannot make it noise
            return None
        if self.exclude.search(mention.text):
            return "exclude_term"
        if self.include and not self.include.search(mention.text):
            return "no_include_term"
        return None

    def apply(self, mentions: tuple[Mention, ...]) -> tuple[Mention, ...]:
        return tuple(m for m in mentions if self.drop_reason(m) is None)


class FilteredListener:
    """Wraps any listener so its batches pass the source's filters; the cursor is untouched."""

    def __init__(self, inner: Listener, mention_filter: MentionFilter) -> None:
        self.inner = inner
        self.name = inner.name
        self.interval_s = inner.interval_s
        self.filter = mention_filter

    def fetch(self, cursor: str | None) -> Batch:
        batch = self.inner.fetch(cursor)
        kept = self.filter.apply(batch.mentions)
        return batch if len(kept) == len(batch.mentions) else dataclasses.replace(batch, mentions=kept)
