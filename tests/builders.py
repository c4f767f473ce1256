"""Small builders of records for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hark.brand import BrandConfig, OwnAccounts
from hark.records import Author, Mention, Platform

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def mention(
    n: int,
    text: str = "hello @NimbusCycles",
    *,
    platform: Platform = "x",
    author: str = "alice",
    user_id: str | None = None,
    addressed: bool = True,
    conversation: str | None = None,
    in_reply_to: str | None = None,
    followers: int | None = 100,
    raw: dict[str, object] | None = None,
) -> Mention:
    external = str(1000 + n) if platform == "x" else f"t3_{n:x}"
    return Mention(
        platform=platform,
        external_id=external,
        source=f"{platform}-test",
        kind="reply" if in_reply_to else "post",
        author=Author(
            platform=platform, user_id=user_id or f"id-{author}", handle=author, followers=followers
        ),
        text=text,
        url=f"https://example.com/{external}",
        created_at=T0 + timedelta(minutes=n),
        conversation_id=conversation or external,
        in_reply_to=in_reply_to,
        mentions_brand_account=addressed,
        raw=raw or {},
    )


def own_accounts(x: dict[str, str] | None = None, reddit: tuple[str, ...] = ()) -> OwnAccounts:
    """Our accounts as config.yaml's brand.accounts would give them."""
    accounts: dict[str, object] = {"x": x or {}, "reddit": list(reddit)}
    return OwnAccounts.build(BrandConfig.model_validate({"name": "Nimbus Cycles", "accounts": accounts}))
