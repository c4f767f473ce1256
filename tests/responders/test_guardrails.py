"""The auto-reply policy: each rule blocks on its own and names itself; caps count what went out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.pipeline import poll_once
from hark.records import Mention
from responders.config import QuietHours, RepliesConfig
from responders.guardrails import Check, ReplyAsk, blocking, policy_checks
from store.db import Sessions
from store.labels import Labels
from store.models import MentionRow, ReplyRow
from store.replies import AUTO
from tests import builders
from tests.builders import mention
from tests.fakes import ListListener

OWN = builders.own_accounts({"NimbusCycles": "1500000000000000001"}, ("NimbusCycles_Team",))
BERLIN = ZoneInfo("Europe/Berlin")
NOON = datetime(2026, 11, 10, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
PRAISE = Labels(
    sentiment="positive",
    sentiment_score=0.95,
    intent="praise",
    needs_reply=False,
    relevant=True,
    priority=20,
    model_version="test",
    language="en",
    corrected=(),
    intent_scores={"praise": 0.92, "other": 0.08},
)


def ask(
    post: Mention | None = None, *, labels: Labels = PRAISE, vip: bool = False, text: str | None = "Thanks!"
) -> ReplyAsk:
    return ReplyAsk(mention=post or mention(1, "@NimbusCycles love it"), labels=labels, vip=vip, text=text)


def verdict(
    sessions: Sessions, request: ReplyAsk, cfg: RepliesConfig | None = None, now: datetime = NOON
) -> Check | None:
    with sessions() as session:
        return blocking(policy_checks(session, request, cfg or RepliesConfig(), OWN, zone=BERLIN, now=now))


def rule_of(
    sessions: Sessions, request: ReplyAsk, cfg: RepliesConfig | None = None, now: datetime = NOON
) -> str:
    block = verdict(sessions, request, cfg, now)
    return block.rule if block else "allowed"


def why_of(
    sessions: Sessions, request: ReplyAsk, cfg: RepliesConfig | None = None, now: datetime = NOON
) -> str:
    block = verdict(sessions, request, cfg, now)
    return block.why if block else "allowed"


def test_a_summoned_confident_praise_is_allowed_and_every_rule_says_why(sessions: Sessions) -> None:
    with sessions() as session:
        checks = policy_checks(session, ask(), RepliesConfig(), OWN, zone=BERLIN, now=NOON)
    assert blocking(checks) is None
    assert [c.rule for c in checks] == [
        "kill_switch", "own_account", "known_bot", "summoned", "intent", "confidence", "negative", "vip",
        "sensitive", "author_per_day", "per_thread", "account_per_hour", "account_per_day", "quiet_hours",
        "fits", "identical_text",
    ]  # fmt: skip
    assert all(c.why for c in checks)


@pytest.mark.parametrize(
    ("request_", "cfg", "rule", "why"),
    [
        (ask(), RepliesConfig(kill_switch=True), "kill_switch", "kill_switch is on"),
        (
            ask(mention(1, author="NimbusCycles", user_id="1500000000000000001")),
            None,
            "own_account",
            "our accounts",
        ),
        (
            ask(mention(1, author="deals_bot")),
            RepliesConfig(known_bots=("@Deals_Bot",)),
            "known_bot",
            "known bot",
        ),
        (ask(mention(1, "nimbus bikes are nice", addressed=False)), None, "summoned", "this one does not"),
        (ask(labels=replace(PRAISE, intent="support_question")), None, "intent", "not in allowed_intents"),
        (ask(labels=replace(PRAISE, intent_scores={"praise": 0.55})), None, "confidence", "0.55 < 0.70"),
        (ask(labels=replace(PRAISE, sentiment="negative")), None, "negative", "sentiment is negative"),
        (ask(vip=True), None, "vip", "VIP"),
        (ask(mention(1, "@NimbusCycles love it, but my lawyer disagrees")), None, "sensitive", "'lawyer'"),
        (replace(ask(text=None), refused="the reply is 300 of X's 280 long"), None, "fits", "300 of X"),
    ],
)
def test_each_rule_blocks_and_names_itself(
    sessions: Sessions, request_: ReplyAsk, cfg: RepliesConfig | None, rule: str, why: str
) -> None:
    block = verdict(sessions, request_, cfg)
    assert block is not None
    assert block.rule == rule
    assert why in block.why


def test_a_persons_correction_makes_the_intent_certain(sessions: Sessions) -> None:
    corrected = replace(PRAISE, intent_scores={"complaint": 0.9, "praise": 0.1}, corrected=("intent",))
    assert verdict(sessions, ask(labels=corrected)) is None


def test_sensitive_terms_match_whole_words_only(sessions: Sessions) -> None:
    assert verdict(sessions, ask(mention(1, "@NimbusCycles love the colour, so fiery"))) is None  # not "fire"
    assert rule_of(sessions, ask(mention(1, "@NimbusCycles it caught FIRE"))) == "sensitive"


def test_quiet_hours_in_the_brands_time_zone_wrap_midnight(sessions: Sessions) -> None:
    cfg = RepliesConfig(quiet_hours=QuietHours(start=time(22, 0), end=time(7, 0)))
    late = datetime(2026, 11, 10, 21, 30, tzinfo=UTC)  # 22:30 in Berlin
    early = datetime(2026, 11, 11, 5, 30, tzinfo=UTC)  # 06:30
    morning = datetime(2026, 11, 11, 6, 0, tzinfo=UTC)  # 07:00: quiet hours are over
    assert rule_of(sessions, ask(), cfg, late) == "quiet_hours"
    assert "22:00-07:00 Europe/Berlin: now" in why_of(sessions, ask(), cfg, early)
    assert verdict(sessions, ask(), cfg, morning) is None
    assert verdict(sessions, ask(), cfg, NOON) is None


def seed_replies(
    sessions: Sessions, posts: list[Mention], *, text: str = "hi", by: str | None = AUTO, at: datetime = NOON
) -> None:
    poll_once(ListListener("src", posts, page=100), sessions, OWN)
    with sessions.begin() as session:
        for row in session.scalars(
            sa.select(MentionRow).where(MentionRow.external_id.in_([p.external_id for p in posts]))
        ):
            session.add(
                ReplyRow(
                    idempotency_key=f"k{row.external_id}", mention_id=row.id, text=text, status="sent",
                    approved_by=by, created_at=at, updated_at=at,
                )
            )  # fmt: skip


def test_caps_per_author_thread_and_account(sessions: Sessions) -> None:
    seed_replies(sessions, [mention(1, conversation="c1"), mention(2, conversation="c2")])
    cfg = RepliesConfig(max_per_author_per_day=2, max_per_thread=1)
    third = ask(mention(3, conversation="c3"))
    assert why_of(sessions, third, cfg) == "2 of 2 replies to this author in the last 24 h"
    assert verdict(sessions, third, cfg, NOON + timedelta(days=2)) is None  # the window moved on
    other_author = ask(mention(4, author="bob", conversation="c1"))
    assert rule_of(sessions, other_author, cfg) == "per_thread"
    fresh = ask(mention(5, author="cleo", conversation="c5"))
    assert rule_of(sessions, fresh, RepliesConfig(max_per_account_per_hour=2)) == "account_per_hour"
    assert rule_of(sessions, fresh, RepliesConfig(max_per_account_per_day=2), NOON + timedelta(hours=3)) == (
        "account_per_day"
    )
    assert (
        verdict(sessions, fresh, RepliesConfig(max_per_account_per_hour=2), NOON + timedelta(hours=2)) is None
    )


def test_replies_people_sent_do_not_count_against_the_automated_account_caps(sessions: Sessions) -> None:
    seed_replies(
        sessions, [mention(1, conversation="c1"), mention(2, author="bo", conversation="c2")], by="ana"
    )
    fresh = ask(mention(5, author="cleo", conversation="c5"))
    assert verdict(sessions, fresh, RepliesConfig(max_per_account_per_hour=1)) is None


def test_the_same_text_twice_within_the_window_is_blocked(sessions: Sessions) -> None:
    seed_replies(sessions, [mention(1, author="ann", conversation="c1")], text="Thanks!")
    again = ask(mention(2, author="bo", conversation="c2"), text="Thanks!")
    assert rule_of(sessions, again) == "identical_text"
    assert verdict(sessions, replace(again, text="Thank you!")) is None
    assert verdict(sessions, again, now=NOON + timedelta(hours=25)) is None


def test_the_reply_weighed_does_not_count_against_itself(sessions: Sessions) -> None:
    post = mention(1, conversation="c1")
    seed_replies(sessions, [post], text="Thanks!")
    with sessions() as session:
        mention_id = session.scalars(sa.select(MentionRow.id)).one()
    assert verdict(sessions, replace(ask(post, text="Thanks!"), mention_id=mention_id)) is None
    assert rule_of(sessions, ask(post, text="Thanks!")) == "per_thread"
