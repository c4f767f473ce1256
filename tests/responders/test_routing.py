"""Routing rules, reply templates and the guardrails on automated replies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.pipeline import poll_once
from responders.config import RepliesConfig, RoutingConfig, RoutingRule, RuleMatch
from responders.guardrails import reply_block_reason
from responders.routing import RouteFacts, decide
from store.db import Sessions
from store.models import MentionRow, ReplyRow
from tests import builders
from tests.builders import mention
from tests.fakes import ListListener

OWN = builders.own_accounts({"NimbusCycles": "1500000000000000001"}, ("NimbusCycles_Team",))


def facts(**changes: object) -> RouteFacts:
    values: dict[str, object] = {
        "intent": "complaint",
        "sentiment": "negative",
        "platform": "x",
        "relevant": True,
        "needs_reply": True,
        "vip": False,
        "priority": 60,
    }
    values.update(changes)
    return RouteFacts(**values)  # type: ignore[arg-type]


ROUTING = RoutingConfig(
    rules=(
        RoutingRule(name="noise", when=RuleMatch(relevant=False), action="ignore"),
        RoutingRule(
            name="vip complaints", when=RuleMatch(intent=("complaint",), vip=True), action="escalate"
        ),
        RoutingRule(name="urgent", when=RuleMatch(min_priority=80), action="escalate", channel="#urgent"),
        RoutingRule(
            name="praise", when=RuleMatch(intent=("praise",)), action="auto_reply", template="thanks"
        ),
    ),
    templates={"thanks": "Thanks @{{ author }}!"},
)


@pytest.mark.parametrize(
    ("changes", "action", "rule"),
    [
        ({"relevant": False, "vip": True}, "ignore", "noise"),
        ({"vip": True}, "escalate", "vip complaints"),
        ({"priority": 85}, "escalate", "urgent"),
        ({"intent": "praise", "sentiment": "positive"}, "auto_reply", "praise"),
        ({}, "queue", "default"),
    ],
)
def test_first_matching_rule_wins(changes: dict[str, object], action: str, rule: str) -> None:
    decision = decide(ROUTING, facts(**changes))
    assert (decision.action, decision.rule) == (action, rule)


def test_rule_channel_overrides_the_default() -> None:
    assert decide(ROUTING, facts(priority=90)).channel == "#urgent"


def seeded(sessions: Sessions, *mentions_: object) -> None:
    poll_once(ListListener("src", list(mentions_)), sessions, OWN)  # type: ignore[arg-type]


def test_no_automated_reply_on_x_unless_addressed(sessions: Sessions) -> None:
    quiet = mention(1, "nimbus bikes are nice", addressed=False)
    seeded(sessions, quiet)
    with sessions() as session:
        assert reply_block_reason(session, quiet, RepliesConfig(), OWN) == (
            "the author did not @mention or quote our account"
        )
        assert reply_block_reason(session, mention(2), RepliesConfig(), OWN) is None


def test_never_reply_to_our_own_accounts_or_known_bots(sessions: Sessions) -> None:
    ours = mention(1, author="NimbusCycles", user_id="1500000000000000001")
    bot = mention(2, author="deals_bot")
    with sessions() as session:
        assert reply_block_reason(session, ours, RepliesConfig(), OWN) == "the author is one of our accounts"
        assert reply_block_reason(session, bot, RepliesConfig(known_bots=("@Deals_Bot",)), OWN) == (
            "the author is a known bot"
        )


def test_per_author_and_per_thread_caps(sessions: Sessions) -> None:
    first, second, third = (
        mention(1, conversation="c1"),
        mention(2, conversation="c2"),
        mention(3, conversation="c3"),
    )
    seeded(sessions, first, second, third)
    cfg = RepliesConfig(max_per_author_per_day=2, max_per_thread=1)
    now = datetime.now(UTC)
    with sessions.begin() as session:
        rows = {r.external_id: r for r in session.scalars(sa.select(MentionRow))}
        for external in ("1001", "1002"):
            session.add(
                ReplyRow(
                    idempotency_key=f"k{external}",
                    mention_id=rows[external].id,
                    text="hi",
                    status="sent",
                    created_at=now,
                    updated_at=now,
                )
            )
    with sessions() as session:
        assert reply_block_reason(session, third, cfg, OWN) == "already 2 replies to this author today"
        other_author = mention(4, author="bob", conversation="c1")
        assert reply_block_reason(session, other_author, cfg, OWN) == "already 1 replies in this thread"


def test_kill_switch_blocks_everything(sessions: Sessions) -> None:
    with sessions() as session:
        assert (
            reply_block_reason(session, mention(1), RepliesConfig(kill_switch=True), OWN)
            == "kill switch is on"
        )
