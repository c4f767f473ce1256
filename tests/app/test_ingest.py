"""Listening stores each mention once, keeps its cursor with the mentions, and records our own replies."""

from __future__ import annotations

import sqlalchemy as sa

from app.config import AppConfig
from app.pipeline import classify_pending, link_pending, poll_once
from store.db import Sessions
from store.mentions import load_cursor
from store.models import CaseRow, MentionRow, ReplyRow
from tests import builders
from tests.builders import mention
from tests.fakes import KeywordClassifier, ListListener

OWN = builders.own_accounts({"NimbusCycles": "1500000000000000001"}, ("NimbusCycles_Team",))


def count(sessions: Sessions, model: type[object]) -> int:
    with sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_polling_twice_stores_each_mention_once(sessions: Sessions) -> None:
    mentions = [mention(i) for i in range(25)]
    first = poll_once(ListListener("src", mentions, page=100), sessions, OWN)
    assert len(first.new_ids) == 25
    # a listener that lost its cursor replays everything: the store drops the repeats
    second = poll_once(ListListener("other", mentions, page=100), sessions, OWN)
    assert second.fetched == 25
    assert second.new_ids == []
    assert count(sessions, MentionRow) == 25


def test_cursor_commits_with_the_mentions_it_covers(sessions: Sessions) -> None:
    listener = ListListener("src", [mention(i) for i in range(25)], page=10)
    result = poll_once(listener, sessions, OWN)
    assert result.more
    with sessions() as session:
        assert load_cursor(session, "src") == "10"
    poll_once(listener, sessions, OWN)
    poll_once(listener, sessions, OWN)
    with sessions() as session:
        assert load_cursor(session, "src") == "25"
    assert count(sessions, MentionRow) == 25


def test_our_own_reply_is_not_a_mention_but_counts_as_a_response(sessions: Sessions) -> None:
    question = mention(1, "@NimbusCycles where is my order?")
    ours = mention(
        2, "@alice it ships today!", author="NimbusCycles", user_id="1500000000000000001", in_reply_to="1001"
    )
    poll_once(ListListener("src", [question, ours]), sessions, OWN)
    with sessions() as session:
        assert session.scalars(sa.select(MentionRow.external_id)).all() == ["1001"]
        reply = session.scalars(sa.select(ReplyRow)).one()
        assert (reply.status, reply.platform_post_id) == ("sent", "1002")


def test_a_reply_we_posted_before_the_mention_was_linked_is_its_cases_first_response(
    sessions: Sessions, app_config: AppConfig
) -> None:
    question = mention(1, "@NimbusCycles where is my order?")
    ours = mention(
        2, "@alice it ships today!", author="NimbusCycles", user_id="1500000000000000001", in_reply_to="1001"
    )
    poll_once(ListListener("src", [question, ours]), sessions, OWN)  # same batch: no case exists yet
    classify_pending(sessions, KeywordClassifier(), 10)
    link_pending(sessions, app_config, 10)
    with sessions() as session:
        case = session.scalars(sa.select(CaseRow)).one()
        reply = session.scalars(sa.select(ReplyRow)).one()
        assert reply.case_id == case.id
        assert case.first_response_at == ours.created_at
        assert case.status == "waiting"


def test_mentions_keep_aware_utc_times(sessions: Sessions) -> None:
    poll_once(ListListener("src", [mention(3)]), sessions, OWN)
    with sessions() as session:
        row = session.scalars(sa.select(MentionRow)).one()
    assert row.created_at == mention(3).created_at
    assert row.created_at.utcoffset() is not None
