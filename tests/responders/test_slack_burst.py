"""A burst of 200 new cards to one channel: paced, the 429s Slack sends anyway retried, the channel's fill
posted and the rest in one digest, which drains at the channel's pace; any card can be opened at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from pytest_httpserver import HTTPServer
from slack_sdk import WebClient

from app.config import AppConfig
from app.pipeline import Routing, classify_pending, link_pending, poll_once, post_held_cards, route_pending
from hark.brand import OwnAccounts
from responders.config import QueueConfig
from responders.slack import SlackQueueResponder
from responders.slack_app import build_slack_app
from responders.templates import ReplyTemplates
from store.db import Sessions
from store.models import CardRow, MentionRow
from tests.builders import mention
from tests.fake_platforms import BRAND_HANDLE, BRAND_ID
from tests.fakes import KeywordClassifier, ListListener
from tests.responders.test_slack_queue import HOSTILE, assert_literal, card
from tests.responders.test_slack_workflow import SECRET, click, payload
from tests.slack_peer import FakeSlack

BURST = 200
QUEUE = QueueConfig(type="slack", slack_pace_s=0.02, digest_after_per_minute=10, senders=("U0ANA",))


def config() -> AppConfig:
    return AppConfig.model_validate(
        {
            "brand": {
                "name": "Nimbus Cycles",
                "accounts": {"x": {BRAND_HANDLE: BRAND_ID}},
                "terms": ["nimbus"],
            },
            "sources": [
                {"type": "replay", "name": "unused", "platform": "x", "path": "samples/x_mentions.json"}
            ],
            "routing": {"default_action": "queue"},
            "responders": {"queue": QUEUE.model_dump()},
        }
    )


def routing(slack: FakeSlack) -> Routing:
    cfg = config()
    queue = SlackQueueResponder.on_client(WebClient(token="xoxb-test", base_url=slack.url), QUEUE)
    return Routing(cfg=cfg, templates=ReplyTemplates({}), queue=queue, own=OwnAccounts.build(cfg.brand))


def burst(sessions: Sessions, slack: FakeSlack) -> None:
    cfg = config()
    posts = [
        mention(n, f"@{BRAND_HANDLE} order {n} is late", author=f"rider{n}", user_id=f"{9000 + n}")
        for n in range(1, BURST + 1)
    ]
    poll_once(ListListener("src", posts, page=BURST), sessions, OwnAccounts.build(cfg.brand))
    classify_pending(sessions, KeywordClassifier(), BURST)
    link_pending(sessions, cfg, BURST)
    assert route_pending(sessions, routing(slack), BURST) == BURST


def posted_cards(slack: FakeSlack) -> list[dict[str, Any]]:
    return [
        a
        for a in slack.of("chat.postMessage")
        if any(b.get("block_id", "").startswith("case:") for b in a["blocks"])
    ]


@pytest.mark.slow  # 20 s: 200 cards through the fake Slack, twice over
def test_a_burst_is_paced_retried_digested_and_drained(httpserver: HTTPServer, sessions: Sessions) -> None:
    slack = FakeSlack(httpserver, min_gap_s=0.2)  # stricter than our pace: Slack answers 429 now and then
    burst(sessions, slack)
    start = datetime.now(UTC)
    assert len(posted_cards(slack)) == 10  # the channel's fill for this minute
    [digest] = [a for a in slack.of("chat.postMessage") if a["text"].startswith("A burst:")]
    assert digest["text"] == "A burst: 190 more posts for the queue"
    [listing] = [
        b
        for b in digest["blocks"]
        if b["type"] == "rich_text" and b["elements"][0]["type"] == "rich_text_list"
    ]
    assert len(listing["elements"][0]["elements"]) == 190
    assert slack.refused > 0  # Slack said "too fast" ...
    assert len(slack.of("chat.postMessage")) == 11  # ... and every one of those was sent again, and taken
    with sessions() as session:
        assert (
            session.scalar(
                sa.select(sa.func.count()).select_from(MentionRow).where(MentionRow.routed_at.is_(None))
            )
            == 0
        )
        assert (
            session.scalar(sa.select(sa.func.count()).select_from(CardRow).where(CardRow.ts.is_(None))) == 190
        )
    assert post_held_cards(sessions, routing(slack), 500) == 0  # the minute is full
    slack.min_gap_s = 0.0  # the drain is about the minute's fill, not the pace
    minute = start
    for _ in range(19):
        minute += timedelta(seconds=61)
        with time_machine.travel(minute, tick=False):
            assert post_held_cards(sessions, routing(slack), 500) == 10
    assert len(posted_cards(slack)) == BURST
    targets = [c["blocks"][-2]["block_id"] for c in posted_cards(slack)]
    assert len(set(targets)) == BURST  # each post got exactly one card
    with sessions() as session:
        assert (
            session.scalar(sa.select(sa.func.count()).select_from(CardRow).where(CardRow.ts.is_(None))) == 0
        )


def test_a_card_opened_from_the_digest_is_posted_at_once_and_only_once(
    httpserver: HTTPServer, sessions: Sessions
) -> None:
    slack = FakeSlack(httpserver)
    burst(sessions, slack)
    [digest] = [a for a in slack.of("chat.postMessage") if a["text"].startswith("A burst:")]
    [menu] = [b for b in digest["blocks"] if b.get("block_id") == "digest"]
    options = menu["elements"][0]["options"]
    assert len(options) == 100  # Slack's most; the rest drain on their own
    app = build_slack_app(
        WebClient(token="xoxb-test", base_url=slack.url),
        sessions,
        signing_secret=SECRET,
        queue=QUEUE,
        process_before_response=True,
    )
    card = {"ts": "1763000000.000011", "blocks": [{"type": "actions", "block_id": "case:0", "elements": []}]}
    for user in ("U0ANA", "U0BEA"):  # two people pick the same post
        body = payload(card, "open_held_card", user, value=options[5]["value"])
        body["actions"][0] |= {
            "type": "static_select",
            "block_id": "digest",
            "selected_option": {"text": options[5]["text"], "value": options[5]["value"]},
        }
        assert click(app, body) == 200
    opened = posted_cards(slack)[10:]
    assert len(opened) == 1
    assert opened[0]["blocks"][-2]["block_id"] == f"case:{options[5]['value']}"
    assert json.dumps([a["text"] for a in slack.of("chat.postEphemeral")]) == json.dumps(
        ["That card is posted already."]
    )


def test_a_digest_shows_what_posts_say_as_literal_text(httpserver: HTTPServer, sessions: Sessions) -> None:
    slack = FakeSlack(httpserver)
    queue = SlackQueueResponder.on_client(WebClient(token="xoxb-test", base_url=slack.url), QUEUE)
    hostile = card(HOSTILE, author_handle="*boss*", mention_id=7)
    queue.post_digest("#hark-queue", [hostile, card("fine", mention_id=8)])
    [digest] = slack.of("chat.postMessage")
    assert_literal(digest, [HOSTILE.split("\n")[0][:60], "*boss*"])
