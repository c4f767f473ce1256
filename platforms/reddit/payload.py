"""Turn Reddit listing JSON (t3 submissions, t1 comments) into Mention records."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from hark.errors import PermanentError
from hark.records import Author, Mention

REDDIT_WEB = "https://www.reddit.com"


def _author(data: Mapping[str, Any]) -> Author:
    name = str(data.get("author") or "[deleted]")
    return Author(
        platform="reddit",
        # Reddit has no stable id for deleted authors; the handle stands in so they still group
        user_id=str(data.get("author_fullname") or f"u:{name}"),
        handle=name,
    )


def _names_brand(text: str, brand_accounts: Collection[str]) -> bool:
    return any(
        re.search(rf"(?<![\w/])/?u/{re.escape(account)}\b", text, re.IGNORECASE) for account in brand_accounts
    )


def _link_id(data: Mapping[str, Any]) -> str:
    """The submission a comment belongs to; inbox mentions carry it only inside `context`."""
    if data.get("link_id"):
        return str(data["link_id"])
    context = str(data.get("context") or "")
    match = re.search(r"/comments/([0-9a-z]+)/", context)
    if match is None:
        raise KeyError("link_id")
    return f"t3_{match.group(1)}"


def _comment_path(data: Mapping[str, Any]) -> str:
    if data.get("context"):  # inbox items: the comment's own link, without the ?context=3 query
        return str(data["context"]).split("?", 1)[0]
    # older listings carry no permalink on comments; this path form resolves the same
    return f"/r/{data['subreddit']}/comments/{_link_id(data).removeprefix('t3_')}/_/{data['id']}/"


def mention_from_thing(
    thing: Mapping[str, Any], *, source: str, brand_accounts: Collection[str] = ()
) -> Mention | None:
    """Return a t3 or t1 thing as a mention; None for other kinds (messages, more-links).

    Raises PermanentError naming the thing when a required field is missing or malformed.
    """
    kind = thing.get("kind")
    if kind not in ("t1", "t3"):
        return None
    data = thing.get("data") or {}
    fullname = str(data.get("name") or f"{kind}_{data.get('id', '?')}")
    try:
        created_at = datetime.fromtimestamp(float(data["created_utc"]), tz=UTC)
        url = REDDIT_WEB + str(data.get("permalink") or _comment_path(data))
        if kind == "t3":
            title, body = str(data["title"]), str(data.get("selftext") or "")
            text = f"{title}\n\n{body}" if body else title
            return Mention(
                platform="reddit",
                external_id=fullname,
                source=source,
                kind="post",
                author=_author(data),
                text=text,
                url=url,
                created_at=created_at,
                conversation_id=fullname,
                mentions_brand_account=_names_brand(text, brand_accounts),
                raw=data,
            )
        text = str(data["body"])
        return Mention(
            platform="reddit",
            external_id=fullname,
            source=source,
            kind="comment",
            author=_author(data),
            text=text,
            url=url,
            created_at=created_at,
            conversation_id=_link_id(data),
            in_reply_to=str(data.get("parent_id") or _link_id(data)),
            mentions_brand_account=_names_brand(text, brand_accounts),
            raw=data,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise PermanentError(f"reddit {fullname} is malformed: {err!r}") from err


def mentions_from_listing(
    listing: Mapping[str, Any], *, source: str, brand_accounts: Collection[str] = ()
) -> list[Mention]:
    """Return the submissions and comments of one Listing, in the listing's order."""
    if listing.get("kind") != "Listing":
        raise PermanentError(f"expected a reddit Listing, got kind={listing.get('kind')!r}")
    children = (listing.get("data") or {}).get("children") or ()
    found = (mention_from_thing(c, source=source, brand_accounts=brand_accounts) for c in children)
    return [m for m in found if m is not None]
