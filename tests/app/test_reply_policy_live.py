"""The auto-reply policy end to end: the real `hark run --once` (the bundled model, tweepy, praw) against the
fake platforms sends replies only where every rule allows one, each exactly once; a second run sends none.

The policy is set so that the model's labels do not matter (every intent, any confidence, negative posts
allowed); what decides is who wrote a post, whether it summons us, what it says and how often we answered
its author.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from hark.records import INTENTS
from tests.conftest import REPO
from tests.fake_platforms import BRAND_HANDLE, BRAND_ID, FakeReddit, FakeX

pytestmark = pytest.mark.slow

BOT = "dealbot9000"
REDDIT_ACCOUNT = "NimbusCycles_Team"
PRODUCTS = ["Nimbus Cruiser", "Nimbus Trail 2", "Nimbus Roamer"]


def policy_config(tmp_path: Path, source: dict[str, Any]) -> Path:
    """The shipped policy rules on, with every intent allowed at any confidence and negative posts too."""
    config = {
        "brand": {
            "name": "Nimbus Cycles",
            "accounts": {"x": {BRAND_HANDLE: BRAND_ID}, "reddit": [REDDIT_ACCOUNT]},
            "terms": ["nimbus"],
        },
        "sources": [source],
        "customers": {"products": PRODUCTS},
        "routing": {
            "rules": [
                {
                    "name": "thank everyone",
                    "when": {"relevant": True},
                    "action": "auto_reply",
                    "template": "t",
                }
            ],
            # the product keeps one author's replies apart: X refuses an account's identical posts
            "templates": {
                "t": "Thank you, {{ handle }}!{% if product %} Enjoy the {{ product }}.{% endif %}"
            },
        },
        "responders": {
            "queue": {"type": "console"},
            "replies": {
                "dry_run": False,
                "allowed_intents": list(INTENTS),
                "min_confidence": 0,
                "block_negative": False,
                "known_bots": [BOT],
                "max_per_author_per_day": 2,
                # sensitive_terms, max_per_thread, the account caps, identical_text: the defaults
            },
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def run_once(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "REDDIT_", "SLACK_", "HARK_"))}
    full = {
        **base,
        **env,
        "HARK_CONFIG": str(tmp_path / "config.yaml"),
        "HARK_DATABASE_URL": f"sqlite:///{tmp_path / 'hark.db'}",
    }
    result = subprocess.run(
        [sys.executable, str(REPO / "main.py"), "run", "--once", "--json"],
        env=full,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def outbox(db: Path) -> dict[str, tuple[str, str | None, str | None]]:
    """Each mention's reply: status, error and the platform's post id, by the mention's id. Our replies
    read back from the platform (search, a subreddit's comments) must not add rows."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT m.external_id, r.status, r.error, r.platform_post_id FROM replies r"
            " JOIN mentions m ON m.id = r.mention_id"
        ).fetchall()
    assert len(rows) == len({r[0] for r in rows}), rows  # one reply per mention at most
    return {external_id: (status, error, post_id) for external_id, status, error, post_id in rows}


def stored_mentions(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {external_id for (external_id,) in conn.execute("SELECT external_id FROM mentions")}


def blocked_by(box: dict[str, tuple[str, str | None, str | None]], target: str) -> str:
    status, error, post_id = box[target]
    assert (status, post_id) == ("blocked", None), box[target]
    return (error or "").split(":", 1)[0]


def test_x_replies_go_only_where_the_policy_allows_each_once(fake_x: FakeX, tmp_path: Path) -> None:
    at = f"@{BRAND_HANDLE}"
    start = datetime.now(UTC) - timedelta(minutes=30)

    def tweet(n: int, text: str, author: str, *, mentions_brand: bool = True) -> str:
        created = start + timedelta(minutes=n)
        return fake_x.add_tweet(text, author_username=author, mentions_brand=mentions_brand, created=created)

    thanked = tweet(1, f"{at} loving my new Nimbus Cruiser, smooth every single day", "alice")
    keyword_only = tweet(2, "Saw a Nimbus Trail 2 at the bike shop, looks sharp", "bob", mentions_brand=False)
    ours = tweet(
        3, "Spring service week at every Nimbus store: book a slot", BRAND_HANDLE, mentions_brand=False
    )
    bot = tweet(4, f"{at} 50% off Nimbus bikes today only, click the link", BOT)
    carol = [
        tweet(5, f"{at} my Nimbus Cruiser still rides like new", "carol"),
        tweet(6, f"{at} took the Nimbus Trail 2 out on the gravel, great fun", "carol"),
        tweet(7, f"{at} and now I want the Nimbus Roamer as well", "carol"),
    ]
    sensitive = tweet(8, f"{at} I got injured when the Nimbus front brake locked up", "dave")
    policy_config(
        tmp_path,
        {
            "type": "x",
            "name": "x-search",
            "mode": "search",  # finds @mentions, keyword-only posts and our own posts alike
            "query": f"nimbus OR {at} -is:retweet",
            "api_base_url": fake_x.url,
        },
    )
    env = {
        "X_BEARER_TOKEN": fake_x.bearer_token,
        "X_API_KEY": fake_x.posting_key,
        "X_API_SECRET": "s",
        "X_ACCESS_TOKEN": "t",
        "X_ACCESS_TOKEN_SECRET": "ts",
    }
    run_once(tmp_path, env)
    db = tmp_path / "hark.db"

    targets = [p["in_reply_to"] for p in fake_x.posted]
    assert len(targets) == len(set(targets))  # each once
    carol_replied = [t for t in carol if t in targets]
    assert len(carol_replied) == 2  # the per-author cap: two a day
    assert sorted(targets) == sorted([thanked, *carol_replied])
    box = outbox(db)
    assert set(box) == {thanked, keyword_only, bot, *carol, sensitive}  # every post but ours was weighed
    assert {t: (box[t][0], box[t][2]) for t in targets} == {
        p["in_reply_to"]: ("sent", p["id"]) for p in fake_x.posted
    }
    [carol_capped] = set(carol) - set(carol_replied)
    assert {target: blocked_by(box, target) for target in (keyword_only, bot, carol_capped, sensitive)} == {
        keyword_only: "summoned",  # X: no automated reply unless the post @mentions or quotes us
        bot: "known_bot",
        carol_capped: "author_per_day",
        sensitive: "sensitive",
    }
    assert "'injured', a sensitive term" in (box[sensitive][1] or "")
    assert ours not in stored_mentions(db)  # our own post is never a mention, never answered
    assert ours not in box
    texts = {p["in_reply_to"]: p["text"] for p in fake_x.posted}
    assert texts[thanked] == "Thank you, @alice! Enjoy the Nimbus Cruiser."

    posted = list(fake_x.posted)
    run_once(tmp_path, env)  # our replies are on the timeline now; nothing new to answer
    assert fake_x.posted == posted
    assert outbox(db) == box
    assert not {p["id"] for p in posted} & stored_mentions(db)  # read back, they are ours: no mentions


def test_reddit_replies_go_only_where_the_policy_allows_each_once(
    fake_reddit: FakeReddit, tmp_path: Path
) -> None:
    new = "/r/NimbusCycles/new"
    me = f"u/{REDDIT_ACCOUNT}"
    start = datetime.now(UTC) - timedelta(minutes=30)

    def post(n: int, text: str, author: str) -> str:
        return fake_reddit.add_thing(new, "t3", text, author=author, created=start + timedelta(minutes=n))

    summoned = post(1, f"{me} loving my new Nimbus Cruiser, smooth every single day", "alice")
    keyword_only = post(2, "Saw a Nimbus Trail 2 at the bike shop, looks sharp", "bob")  # no summons rule
    ours = post(3, "Spring service week at every Nimbus store: book a slot", REDDIT_ACCOUNT)
    bot = post(4, "50% off Nimbus bikes today only, click the link", BOT)
    carol = [
        post(5, "My Nimbus Cruiser still rides like new", "carol"),
        post(6, "Took the Nimbus Trail 2 out on the gravel, great fun", "carol"),
        post(7, "And now I want the Nimbus Roamer as well", "carol"),
    ]
    sensitive = post(8, "I got injured when the Nimbus front brake locked up", "dave")
    policy_config(
        tmp_path,
        {
            "type": "reddit",
            "name": "reddit",
            "subreddits": ["NimbusCycles"],
            "oauth_url": fake_reddit.url,
            "reddit_url": fake_reddit.url,
        },
    )
    env = {
        "REDDIT_CLIENT_ID": "client-id",
        "REDDIT_CLIENT_SECRET": "client-secret",
        "REDDIT_USERNAME": REDDIT_ACCOUNT,
        "REDDIT_PASSWORD": "pw",
        "REDDIT_USER_AGENT": "hark-tests/0.1 by u/NimbusCycles_Team",
    }
    run_once(tmp_path, env)
    db = tmp_path / "hark.db"

    targets = [c["data"]["parent_id"] for c in fake_reddit.comments]
    assert len(targets) == len(set(targets))
    assert {c["data"]["author"] for c in fake_reddit.comments} == {REDDIT_ACCOUNT}
    carol_replied = [t for t in carol if t in targets]
    assert len(carol_replied) == 2
    assert sorted(targets) == sorted([summoned, keyword_only, *carol_replied])
    box = outbox(db)
    assert set(box) == {summoned, keyword_only, bot, *carol, sensitive}
    assert {t: (box[t][0], box[t][2]) for t in targets} == {
        c["data"]["parent_id"]: ("sent", c["data"]["name"]) for c in fake_reddit.comments
    }
    [carol_capped] = set(carol) - set(carol_replied)
    assert {target: blocked_by(box, target) for target in (bot, carol_capped, sensitive)} == {
        bot: "known_bot",
        carol_capped: "author_per_day",
        sensitive: "sensitive",
    }
    assert ours not in stored_mentions(db)
    texts = {c["data"]["parent_id"]: c["data"]["body"] for c in fake_reddit.comments}
    assert texts[keyword_only] == "Thank you, u/bob! Enjoy the Nimbus Trail 2."

    comments = list(fake_reddit.comments)
    run_once(tmp_path, env)  # our comments are in r/NimbusCycles/comments now
    assert fake_reddit.comments == comments
    assert outbox(db) == box
    assert not {c["data"]["name"] for c in comments} & stored_mentions(db)
