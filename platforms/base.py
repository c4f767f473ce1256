"""What Hark knows about a platform without talking to it: one PlatformSpec per platform module."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hark.brand import OwnAccounts
from hark.records import Mention

# One recorded page of the platform's own JSON -> mentions, for replays: (page, source name, our accounts)
PageParser = Callable[[Mapping[str, Any], str, OwnAccounts], list[Mention]]


@dataclass(frozen=True, kw_only=True)
class PlatformSpec:
    """A platform's rules and forms. Registered in platforms/registry.py; built once per module."""

    name: str  # as stored in mentions.platform and written in config
    title: str  # as people write it: "X", "Reddit"
    handle_prefix: str  # how a handle is shown: "@name", "u/name"
    ref_prefixes: tuple[str, ...]  # how people may type a handle on the command line ("@", "u/")
    handle_pattern: re.Pattern[str]  # a valid handle, without its prefix
    crm_column: str  # the CRM import column that holds this platform's handle
    reply_limit: int  # the longest reply the platform takes, in its own count
    reply_length: Callable[[str], int] = len  # that count (X weighs URLs, CJK and emoji)
    # the platform's automation rules allow an automated reply only to a post that addressed our account
    replies_need_summons: bool
    title_leads_text: bool  # a post's text starts with its title paragraph, which replies quote
    parse_page: PageParser
    # the web address of our reply, from the address of the post it answers and the reply's platform id
    reply_url: Callable[[str, str], str | None] = lambda _target_url, _post_id: None
    # why the post's thread takes no reply from our account (its author limited replies, it is locked), from
    # the post as the platform sent it and whether it summoned us; None when it takes one
    reply_gate: Callable[[Mapping[str, Any], bool], str | None] = lambda _raw, _summoned: None
    # where the post as the platform sent it (mentions.raw) counts how people engaged with it: JSON paths
    # whose numbers add up to its engagement (likes, shares, replies)
    engagement: tuple[tuple[str, ...], ...] = ()

    def reply_refusal(self, mentions_brand_account: bool, raw: Mapping[str, Any]) -> str | None:
        """Why the platform refuses any reply from our account to this post (it did not summon us, its
        thread is closed to us), or None when it takes one. `raw` is the post as the platform sent it."""
        if self.replies_need_summons and not mentions_brand_account:
            return (
                f"{self.title} takes replies from our account only to posts that @mention or quote it: "
                f"answer this one on {self.title} itself"
            )
        gate = self.reply_gate(raw, mentions_brand_account)
        return f"{gate}: answer it on {self.title} itself if you can" if gate else None

    def display_handle(self, handle: str) -> str:
        return f"{self.handle_prefix}{handle}"

    def bare_handle(self, written: str) -> str:
        """The handle without any prefix people type in front of it here."""
        bare = written.strip()
        for prefix in sorted(self.ref_prefixes, key=len, reverse=True):
            if bare.startswith(prefix):
                return bare[len(prefix) :]
        return bare
