"""Which posts are our own: never ingested as mentions, never replied to, recorded as our responses."""

from __future__ import annotations

from dataclasses import dataclass

from hark.records import Mention


@dataclass(frozen=True)
class OwnAccounts:
    x_ids: frozenset[str]
    x_handles: frozenset[str]  # lower-cased
    reddit_handles: frozenset[str]  # lower-cased

    @classmethod
    def build(cls, x_accounts: dict[str, str], reddit_accounts: tuple[str, ...]) -> OwnAccounts:
        return cls(
            frozenset(x_accounts.values()),
            frozenset(h.lower().lstrip("@") for h in x_accounts),
            frozenset(h.lower().removeprefix("u/") for h in reddit_accounts),
        )

    def owns(self, mention: Mention) -> bool:
        author = mention.author
        if mention.platform == "x":
            return author.user_id in self.x_ids or author.handle.lower() in self.x_handles
        return author.handle.lower() in self.reddit_handles
