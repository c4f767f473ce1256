"""Where a platform takes no reply from our account: an X post that did not summon us, or whose author let
only some accounts reply (reply_settings, read through tweepy); a locked or archived Reddit thread (from the
recorded JSON praw's own tests use)."""

from __future__ import annotations

import json

import pytest

from platforms.reddit import REDDIT
from platforms.reddit.payload import mentions_from_listing
from platforms.x import X
from tests.conftest import SHARED
from tests.fake_platforms import BRAND_HANDLE, FakeX
from tests.listeners.test_x import x_listener

PRAW_CASSETTES = SHARED / "fixtures" / "praw"


@pytest.mark.parametrize(
    ("settings", "summoned", "refused"),
    [
        ("everyone", True, None),
        ("mentionedUsers", True, None),  # we are mentioned, so X lets us reply
        ("mentionedUsers", False, "takes replies from our account only to posts that @mention or quote it"),
        ("following", True, "lets only the accounts its author follows reply"),
        ("subscribers", True, "lets only its author's subscribers reply"),
        ("verified", True, "lets only verified accounts reply"),
    ],
)
def test_x_refuses_what_the_post_or_its_author_does_not_allow(
    settings: str, summoned: bool, refused: str | None
) -> None:
    why = X.reply_refusal(summoned, {"id": "1", "reply_settings": settings})
    if refused is None:
        assert why is None
    else:
        assert why is not None
        assert refused in why
        assert why.endswith("on X itself") or why.endswith("on X itself if you can")


def test_x_reply_settings_come_through_tweepy_onto_the_mention(fake_x: FakeX) -> None:
    gated = fake_x.add_tweet(
        f"@{BRAND_HANDLE} why is my order late",
        author_username="ann",
        mentions_brand=True,
        reply_settings="following",
    )
    open_one = fake_x.add_tweet(f"@{BRAND_HANDLE} thanks!", author_username="bo", mentions_brand=True)
    batch = x_listener(fake_x).fetch(None)
    by_id = {m.external_id: m for m in batch.mentions}
    assert X.reply_refusal(True, by_id[gated].raw) is not None
    assert X.reply_refusal(True, by_id[open_one].raw) is None


def reddit_things() -> list[dict[str, object]]:
    cassette = json.loads((PRAW_CASSETTES / "TestSubredditListings.test_new.json").read_text())
    listing = json.loads(cassette["interactions"][1]["response"]["body"]["string"])
    return [child["data"] for child in listing["data"]["children"]]


def test_reddit_refuses_a_locked_or_archived_thread() -> None:
    post = reddit_things()[0]
    assert post["locked"] is False
    assert post["archived"] is False
    assert REDDIT.reply_refusal(False, post) is None
    locked = REDDIT.reply_refusal(False, {**post, "locked": True})
    assert locked is not None
    assert locked.startswith("its thread is locked")
    archived = REDDIT.reply_refusal(False, {**post, "archived": True})
    assert archived is not None
    assert "older than six months" in archived
    [mention] = mentions_from_listing(
        {"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {**post, "locked": True}}]}},
        source="r",
    )
    assert REDDIT.reply_refusal(mention.mentions_brand_account, mention.raw) == locked
