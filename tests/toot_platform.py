"""A made-up platform, "toot", as a new platform module would define it: the spec and its page parser.

Tests register it with `monkeypatch.setitem(PLATFORMS, NAME, TOOT)`: the line platforms/registry.py
would hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hark.brand import OwnAccounts
from hark.records import Author, Mention
from platforms.base import PlatformSpec

NAME = "toot"


def parse_page(page: Mapping[str, Any], source: str, own: OwnAccounts) -> list[Mention]:
    """The new platform's own JSON: {"items": [{"id", "account": {"id", "acct"}, "text", ...}]}."""
    out = []
    for item in page["items"]:
        account = item["account"]
        out.append(
            Mention(
                platform=NAME,
                external_id=str(item["id"]),
                source=source,
                kind="reply" if item.get("reply_to") else "post",
                author=Author(platform=NAME, user_id=account["id"], handle=account["acct"]),
                text=item["text"],
                url=f"https://toot.example/@{account['acct']}/{item['id']}",
                created_at=datetime.fromisoformat(item["created_at"]),
                conversation_id=str(item.get("thread") or item["id"]),
                in_reply_to=item.get("reply_to"),
                mentions_brand_account=any(f"@{h}" in item["text"].lower() for h in own.handles_on(NAME)),
            )
        )
    return out


TOOT = PlatformSpec(
    name=NAME,
    title="Toot",
    handle_prefix="@",
    ref_prefixes=("@",),
    handle_pattern=re.compile(r"[a-z0-9_]+(@[a-z0-9.-]+)?"),
    crm_column="toot_handle",
    reply_limit=500,
    replies_need_summons=False,
    title_leads_text=False,
    parse_page=parse_page,
)
