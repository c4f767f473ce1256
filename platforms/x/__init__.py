"""X (formerly Twitter): the platform's rules and forms. The tweepy client lives in platforms/x/client.py.

X's automation rules allow an automated reply only to a user who addressed the account (an @mention or a
quote); replies are at most 280 characters.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from hark.brand import OwnAccounts
from hark.records import Mention
from platforms.base import PlatformSpec
from platforms.x.payload import mentions_from_page

NAME = "x"


class XSecrets(BaseSettings):
    """X_BEARER_TOKEN reads; the four user-context keys post replies."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)
    bearer_token: SecretStr | None = Field(default=None, validation_alias="X_BEARER_TOKEN")
    api_key: SecretStr | None = Field(default=None, validation_alias="X_API_KEY")
    api_secret: SecretStr | None = Field(default=None, validation_alias="X_API_SECRET")
    access_token: SecretStr | None = Field(default=None, validation_alias="X_ACCESS_TOKEN")
    access_token_secret: SecretStr | None = Field(default=None, validation_alias="X_ACCESS_TOKEN_SECRET")


class XConnection(BaseModel):
    """Where X's API answers; a source's config carries it, and live replies use the first source's."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    api_base_url: str = "https://api.x.com"
    timeout_s: PositiveFloat = 30.0


def weighted_length(text: str) -> int:
    """X's own count (twitter-text): a URL counts 23, CJK characters and emoji count 2."""
    with warnings.catch_warnings():  # twitter-text-parser 3.0 imports pkg_resources, which warns
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        from twitter_text import parse_tweet  # noqa: PLC0415  # 0.3 s of emoji tables: only when measuring

    return int(parse_tweet(text).weightedLength)


def _reply_url(_target_url: str, post_id: str) -> str:
    return f"https://x.com/i/web/status/{post_id}"  # X resolves this form without the author's handle


# X's reply_settings: who may reply to a post besides its author (X refuses a reply from anyone else)
REPLIERS = {
    "mentionedUsers": "the accounts it mentions",
    "following": "the accounts its author follows",
    "subscribers": "its author's subscribers",
    "verified": "verified accounts",
}


def _reply_gate(raw: Mapping[str, Any], summoned: bool) -> str | None:
    setting = str(raw.get("reply_settings") or "everyone")
    if setting == "everyone" or (setting == "mentionedUsers" and summoned):
        return None
    who = REPLIERS.get(setting, f"some accounts ({setting})")
    return f"its author lets only {who} reply, and Hark cannot tell that our account is one of them"


def _parse_page(page: Mapping[str, Any], source: str, own: OwnAccounts) -> list[Mention]:
    return mentions_from_page(
        page, source=source, brand_handles=own.handles_on(NAME), brand_ids=own.ids_on(NAME)
    )


X = PlatformSpec(
    name=NAME,
    title="X",
    handle_prefix="@",
    ref_prefixes=("@",),
    handle_pattern=re.compile(r"[A-Za-z0-9_]{1,15}"),
    crm_column="x_handle",
    reply_limit=280,
    reply_length=weighted_length,
    replies_need_summons=True,
    title_leads_text=False,
    parse_page=_parse_page,
    reply_url=_reply_url,
    reply_gate=_reply_gate,
    engagement=tuple(
        ("public_metrics", f"{kind}_count") for kind in ("like", "retweet", "reply", "quote")
    ),  # a v2 tweet's public_metrics
)
