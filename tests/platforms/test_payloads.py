"""The normalisers read the platforms' real JSON, as recorded by the SDKs' own test suites."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hark.errors import PermanentError
from platforms.reddit.payload import mentions_from_listing
from platforms.x.payload import mentions_from_page
from tests.conftest import REPO, SHARED

TWITTER_DATA = SHARED / "fixtures" / "python-twitter" / "testdata" / "apis"
PRAW_CASSETTES = SHARED / "fixtures" / "praw"


def test_x_search_page_with_user_expansions_becomes_mentions() -> None:
    page = json.loads((TWITTER_DATA / "searches" / "search_tweets_query.json").read_text())
    mentions = mentions_from_page(page, source="x-search")
    assert [m.external_id for m in mentions] == [t["id"] for t in page["data"]]
    users = {u["id"]: u["username"] for u in page["includes"]["users"]}
    assert all(m.author.handle == users[m.author.user_id] for m in mentions)
    assert all(m.created_at.tzinfo is not None for m in mentions)
    assert mentions[0].url == f"https://x.com/{mentions[0].author.handle}/status/{mentions[0].external_id}"


def test_x_mentions_timeline_marks_who_addressed_the_account() -> None:
    page = json.loads((TWITTER_DATA / "timeline" / "timeline_mentions.json").read_text())
    for tweet in page["data"]:
        tweet.setdefault("author_id", "42")  # the sample was trimmed of author ids
    mentions = mentions_from_page(page, source="x-mentions", brand_handles=["tweetdeck"])
    addressed = {m.external_id for m in mentions if m.mentions_brand_account}
    # the first tweet tags @TweetDeck; the second only names TweetDeck in prose
    assert addressed == {page["data"][0]["id"]}


@pytest.mark.parametrize(
    ("lang", "language"), [("en", "en"), ("qme", None), ("art", None), ("und", "und"), (None, None)]
)
def test_x_says_which_posts_have_no_language_in_its_own_codes(lang: str | None, language: str | None) -> None:
    tweet = {
        "id": "1",
        "text": "📸",
        "author_id": "7",
        "created_at": "2026-01-02T03:04:05.000Z",
        "lang": lang,
    }
    # X's private codes become None at the edge; ISO's "und" is left for every stage to read the same way
    assert mentions_from_page({"data": [tweet]}, source="s")[0].language == language


def test_x_text_entities_are_unescaped() -> None:
    page = {
        "data": [
            {
                "id": "1",
                "text": "fast &amp; cheap &lt;3",
                "author_id": "7",
                "created_at": "2026-01-02T03:04:05.000Z",
            }
        ]
    }
    assert mentions_from_page(page, source="s")[0].text == "fast & cheap <3"


def test_x_tweet_without_created_at_is_a_clear_error() -> None:
    page = {"data": [{"id": "99", "text": "hi", "author_id": "7"}]}
    with pytest.raises(PermanentError, match="x tweet 99 is malformed"):
        mentions_from_page(page, source="s")


def test_reddit_new_listing_from_praw_cassette_becomes_posts() -> None:
    cassette = json.loads((PRAW_CASSETTES / "TestSubredditListings.test_new.json").read_text())
    listing = json.loads(cassette["interactions"][1]["response"]["body"]["string"])
    mentions = mentions_from_listing(listing, source="reddit")
    first = listing["data"]["children"][0]["data"]
    assert len(mentions) == len(listing["data"]["children"])
    assert mentions[0].external_id == first["name"]
    assert mentions[0].kind == "post"
    assert mentions[0].text.startswith(first["title"])
    assert mentions[0].created_at == datetime.fromtimestamp(first["created_utc"], tz=UTC)


def test_reddit_comment_stream_keeps_thread_links() -> None:
    cassette = json.loads((PRAW_CASSETTES / "TestSubredditStreams.test_comments.json").read_text())
    bodies = [json.loads(i["response"]["body"]["string"]) for i in cassette["interactions"][1:2]]
    mentions = mentions_from_listing(bodies[0], source="reddit")
    assert mentions
    assert all(m.kind == "comment" for m in mentions)
    assert all(m.conversation_id and m.conversation_id.startswith("t3_") for m in mentions)
    assert all(m.in_reply_to and m.in_reply_to[:3] in ("t1_", "t3_") for m in mentions)


def test_reddit_skips_messages_and_rejects_non_listings() -> None:
    listing = {"kind": "Listing", "data": {"children": [{"kind": "t4", "data": {"name": "t4_1"}}]}}
    assert mentions_from_listing(listing, source="r") == []
    with pytest.raises(PermanentError, match="expected a reddit Listing"):
        mentions_from_listing({"kind": "t3"}, source="r")


def test_sample_files_parse_completely() -> None:
    x_pages = json.loads((REPO / "samples" / "x_mentions.json").read_text())
    reddit_pages = json.loads((REPO / "samples" / "reddit_listing.json").read_text())
    tweets = sum(len(p["data"]) for p in x_pages)
    things = sum(len(p["data"]["children"]) for p in reddit_pages)
    x = [m for p in x_pages for m in mentions_from_page(p, source="x", brand_handles=["NimbusCycles"])]
    reddit = [m for p in reddit_pages for m in mentions_from_listing(p, source="r")]
    assert (len(x), len(reddit)) == (tweets, things)
    assert len(x) + len(reddit) >= 300
