"""Reddit: the platform's rules and forms. The praw client lives in platforms/reddit/client.py.

Every API call needs OAuth and a descriptive user agent; comments are at most 10,000 characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from hark.brand import OwnAccounts
from hark.records import Mention
from hark.secrets import reveal
from platforms.base import PlatformSpec
from platforms.reddit.payload import mentions_from_listing

NAME = "reddit"


class RedditSecrets(BaseSettings):
    """A "script" app's credentials; the username and password also let Hark post as that account."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)
    client_id: SecretStr | None = Field(default=None, validation_alias="REDDIT_CLIENT_ID")
    client_secret: SecretStr | None = Field(default=None, validation_alias="REDDIT_CLIENT_SECRET")
    username: str | None = Field(default=None, validation_alias="REDDIT_USERNAME")
    password: SecretStr | None = Field(default=None, validation_alias="REDDIT_PASSWORD")
    user_agent: str | None = Field(default=None, validation_alias="REDDIT_USER_AGENT")

    def by_variable(self) -> dict[str, str | None]:
        """The values by environment variable name, so errors can name what is missing."""
        return {
            "REDDIT_CLIENT_ID": reveal(self.client_id),
            "REDDIT_CLIENT_SECRET": reveal(self.client_secret),
            "REDDIT_USERNAME": reveal(self.username),
            "REDDIT_PASSWORD": reveal(self.password),
            "REDDIT_USER_AGENT": reveal(self.user_agent),
        }


class RedditConnection(BaseModel):
    """Where Reddit's API answers; a source's config carries it, and live replies use the first source's."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = "https://www.reddit.com"
    timeout_s: PositiveInt = 16  # praw takes whole seconds


THREAD = re.compile(r"^(https://[^/]+/r/[^/]+/comments/[^/]+/)")


def _reply_url(target_url: str, post_id: str) -> str | None:
    """A comment's address is its thread's plus `_/<comment id>/`, as Reddit's own short form."""
    thread = THREAD.match(target_url)
    return f"{thread.group(1)}_/{post_id.removeprefix('t1_')}/" if thread else None


def _reply_gate(raw: Mapping[str, Any], _summoned: bool) -> str | None:
    if raw.get("locked"):
        return "its thread is locked: Reddit takes no new comments there"
    if raw.get("archived"):
        return "it is archived: Reddit takes no comments on posts older than six months"
    return None


def _parse_page(page: Mapping[str, Any], source: str, own: OwnAccounts) -> list[Mention]:
    return mentions_from_listing(page, source=source, brand_accounts=own.handles_on(NAME))


REDDIT = PlatformSpec(
    name=NAME,
    title="Reddit",
    handle_prefix="u/",
    ref_prefixes=("/u/", "u/", "/"),
    handle_pattern=re.compile(r"[A-Za-z0-9_-]{3,20}"),
    crm_column="reddit_username",
    reply_limit=10_000,
    replies_need_summons=False,
    title_leads_text=True,
    parse_page=_parse_page,
    reply_url=_reply_url,
    reply_gate=_reply_gate,
    engagement=(("score",), ("num_comments",)),  # votes, and a submission's comments
)
