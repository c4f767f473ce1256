"""Brand-mention filters apply the same way to every source; our own posts still reach poll_once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.pipeline import poll_once
from listeners.config import MentionFilterConfig
from listeners.filters import FilteredListener, MentionFilter
from platforms.pacing import Quota
from store.db import Sessions
from store.models import MentionRow, ReplyRow
from tests import builders
from tests.builders import mention
from tests.fakes import ListListener

OWN = builders.own_accounts({"NimbusCycles": "1500000000000000001"}, ("NimbusCycles_Team",))
NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def build(**rules: object) -> MentionFilter:
    return MentionFilter.build(MentionFilterConfig.model_validate(rules), OWN)


def test_each_rule_names_why_it_dropped_a_post() -> None:
    rules = build(
        include_terms=["nimbus"],
        exclude_terms=["cumulonimbus", "nimbus 2000"],
        blocked_authors=["@spammer"],
        min_followers=10,
        languages=["en", "de"],
    )
    plain = mention(1, "my Nimbus Trail is great", addressed=False)
    assert rules.drop_reason(plain) is None
    assert rules.drop_reason(mention(2, "cumulonimbus clouds today", addressed=False)) == "exclude_term"
    assert rules.drop_reason(mention(3, "a nimbus 2000 broom", addressed=False)) == "exclude_term"
    assert rules.drop_reason(mention(4, "nice weather", addressed=False)) == "no_include_term"
    assert rules.drop_reason(mention(5, "nimbus!", author="Spammer", addressed=False)) == "blocked_author"
    assert rules.drop_reason(mention(6, "nimbus!", followers=3, addressed=False)) == "min_followers"
    assert rules.drop_reason(replace(plain, language="fr")) == "language"
    assert rules.drop_reason(replace(plain, language="und")) is None  # no language: kept
    assert rules.drop_reason(mention(7, "nimbus", followers=None, addressed=False)) is None  # Reddit
    # an @mention of our account is about us even when it names something else called Nimbus
    assert rules.drop_reason(mention(8, "@NimbusCycles cumulonimbus over the ride")) is None


def test_the_same_rules_filter_x_and_reddit_alike() -> None:
    rules = build(include_terms=["nimbus"], exclude_terms=["nimbus vpn"])
    for platform in ("x", "reddit"):
        kept = rules.apply(
            (
                mention(1, "nimbus vpn is down", platform=platform, addressed=False),
                mention(2, "new nimbus bike", platform=platform, addressed=False),
            )
        )
        assert [m.text for m in kept] == ["new nimbus bike"]


def test_our_own_replies_pass_the_filters_and_are_recorded_as_responses(sessions: Sessions) -> None:
    question = mention(1, "@NimbusCycles where is my order?")
    ours = mention(
        2, "@alice ships today", author="NimbusCycles", user_id="1500000000000000001", in_reply_to="1001"
    )
    noise = mention(3, "cumulonimbus", addressed=False)
    source = FilteredListener(
        ListListener("x", [question, ours, noise]), build(exclude_terms=["cumulonimbus"])
    )
    result = poll_once(source, sessions, OWN)
    assert (result.fetched, result.own_posts) == (2, 1)
    with sessions() as session:
        assert session.scalars(sa.select(MentionRow.external_id)).all() == ["1001"]
        assert session.scalars(sa.select(ReplyRow.platform_post_id)).all() == ["1002"]


def test_quota_runs_at_full_speed_then_spreads_then_waits_for_the_reset() -> None:
    reset = NOW + timedelta(minutes=10)
    assert Quota(400, reset, 450).next_request_at(NOW) is None
    spread = Quota(51, reset, 450).next_request_at(NOW)
    assert spread == NOW + timedelta(seconds=12)  # 600 s over the 50 requests left above the reserve
    assert Quota(1, reset, 450).next_request_at(NOW) == reset + timedelta(seconds=1)
    # Reddit rounds the seconds to the reset down: "0 s" with nothing left still means wait
    assert Quota(0, NOW, 450).next_request_at(NOW) == NOW + timedelta(seconds=1)
