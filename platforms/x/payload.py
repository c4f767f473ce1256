"""Turn X API v2 JSON (tweets with author expansions) into Mention records."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from hark.errors import PermanentError
from hark.records import Author, Mention, MentionKind


def parse_x_time(value: str) -> datetime:
    """X sends ISO 8601 with a Z suffix and milliseconds."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.utcoffset() is None:
        raise ValueError(f"timestamp without a zone: {value!r}")
    return parsed


def unescape_x_text(text: str) -> str:
    """X escapes &, < and > in tweet text as HTML entities; nothing else."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# X's own codes for posts without a language it names (media only, hashtags only, cashtags, ...)
X_NO_LANGUAGE = frozenset({"qme", "qht", "qam", "qct", "art"})


def _language(lang: object) -> str | None:
    """The post's language as X detected it; None where X says it found none."""
    code = str(lang) if lang else ""
    return None if not code or code.lower() in X_NO_LANGUAGE else code


def x_author(user: Mapping[str, Any]) -> Author:
    metrics = user.get("public_metrics") or {}
    return Author(
        platform="x",
        user_id=str(user["id"]),
        handle=str(user.get("username") or user["id"]),
        display_name=str(user.get("name") or ""),
        followers=metrics.get("followers_count"),
        verified=bool(user.get("verified", False)),
        description=str(user.get("description") or ""),
        url=str(user.get("url") or ""),
    )


def _kind(tweet: Mapping[str, Any]) -> tuple[MentionKind, str | None]:
    for ref in tweet.get("referenced_tweets") or ():
        if ref.get("type") == "replied_to":
            return "reply", str(ref["id"])
    for ref in tweet.get("referenced_tweets") or ():
        if ref.get("type") == "quoted":
            return "quote", None
    return "post", None


def _names_brand(
    tweet: Mapping[str, Any], brand_handles: Collection[str], brand_ids: Collection[str]
) -> bool:
    handles = {h.lower() for h in brand_handles}
    entities = (tweet.get("entities") or {}).get("mentions")
    if entities is None:  # responses without entities: read the @handles from the text
        return any(
            name.lower() in handles for name in re.findall(r"(?<!\w)@(\w{1,15})", str(tweet.get("text", "")))
        )
    return any(
        str(item.get("username", "")).lower() in handles or str(item.get("id", "")) in brand_ids
        for item in entities
    )


def mentions_from_page(
    page: Mapping[str, Any],
    *,
    source: str,
    brand_handles: Collection[str] = (),
    brand_ids: Collection[str] = (),
) -> list[Mention]:
    """Return the tweets of one v2 response page as mentions, in the page's order.

    Raises PermanentError naming the tweet when a required field is missing or malformed.
    """
    users = {str(u["id"]): x_author(u) for u in (page.get("includes") or {}).get("users") or ()}
    quoted_authors = {
        str(t["id"]): str(t.get("author_id", "")) for t in (page.get("includes") or {}).get("tweets") or ()
    }
    return [
        _to_mention(
            tweet,
            users=users,
            quoted_authors=quoted_authors,
            source=source,
            brand_handles=brand_handles,
            brand_ids=brand_ids,
        )
        for tweet in page.get("data") or ()
    ]


def _to_mention(
    tweet: Mapping[str, Any],
    *,
    users: Mapping[str, Author],
    quoted_authors: Mapping[str, str],
    source: str,
    brand_handles: Collection[str],
    brand_ids: Collection[str],
) -> Mention:
    tweet_id = str(tweet.get("id", "?"))
    try:
        author_id = str(tweet["author_id"])
        author = users.get(author_id) or Author(platform="x", user_id=author_id, handle=author_id)
        kind, parent = _kind(tweet)
        quotes_brand = any(
            ref.get("type") == "quoted" and quoted_authors.get(str(ref["id"])) in brand_ids
            for ref in tweet.get("referenced_tweets") or ()
        )
        return Mention(
            platform="x",
            external_id=tweet_id,
            source=source,
            kind=kind,
            author=author,
            text=unescape_x_text(str(tweet["text"])),
            url=f"https://x.com/{author.handle}/status/{tweet_id}",
            created_at=parse_x_time(str(tweet["created_at"])),
            language=_language(tweet.get("lang")),
            conversation_id=str(tweet.get("conversation_id") or tweet_id),
            in_reply_to=parent,
            mentions_brand_account=quotes_brand or _names_brand(tweet, brand_handles, brand_ids),
            raw=tweet,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise PermanentError(f"x tweet {tweet_id} is malformed: {err!r}") from err


def newest_id(ids: Iterable[str]) -> str | None:
    """Tweet ids are time-ordered snowflakes: the largest number is the newest."""
    return max(ids, key=int, default=None)
