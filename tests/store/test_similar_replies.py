"""Suggested replies from the team's past: the replies people sent to the posts most like this one."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from app.config import AppConfig
from app.pipeline import Routing, classify_pending, link_pending, poll_once, route_pending
from hark.brand import BrandConfig, OwnAccounts
from responders.templates import ReplyTemplates
from store.db import Sessions
from store.models import MentionRow, MentionVectorRow, ReplyRow
from store.privacy import forget_mention
from store.replies import AUTO
from store.similar_replies import add_vectors, similar_replies
from tests.builders import mention
from tests.fakes import KeywordClassifier, ListListener, RecordingQueue

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
SORRY = "So sorry, Ann! We are sending a new battery."


def seeded(
    sessions: Sessions, vectors: dict[int, tuple[float, ...]], sent: dict[int, tuple[str, str]]
) -> dict[int, int]:
    """Mentions 1.. with the given vectors; `sent` maps a mention number to (reply text, approved_by)."""
    poll_once(
        ListListener("src", [mention(n, author=f"a{n}") for n in vectors]),
        sessions,
        OwnAccounts.build(BrandConfig(name="Nimbus")),
    )
    with sessions.begin() as session:
        ids = {int(r.external_id) - 1000: r.id for r in session.scalars(sa.select(MentionRow))}
        add_vectors(session, [(ids[n], "m1", v) for n, v in vectors.items()])
        for n, (text, by) in sent.items():
            session.add(
                ReplyRow(idempotency_key=f"k{n}", mention_id=ids[n], text=text, status="sent", approved_by=by,
                         created_at=NOW, updated_at=NOW, sent_at=NOW)
            )  # fmt: skip
    return ids


def test_the_most_similar_posts_replies_come_first_and_only_peoples_words(sessions: Sessions) -> None:
    ids = seeded(
        sessions,
        {
            1: (1.0, 0.0, 0.0),
            2: (0.9, 0.1, 0.0),
            3: (0.0, 1.0, 0.0),
            4: (0.7, 0.7, 0.0),
            5: (1.0, 0.05, 0.0),
            6: (0.95, 0.0, 0.1),
        },
        {
            2: ("Sorry! DM us.", "ana"),
            3: ("Unrelated answer", "ana"),
            4: ("Half related", "posted by @NimbusHelp"),
            5: ("Thanks!", AUTO),
        },
    )
    with sessions() as session:
        found = similar_replies(session, ids[1])
    assert [text for text, _ in found] == ["Sorry! DM us.", "Half related"]  # no auto reply, no unrelated one
    assert found[0][1] > found[1][1] > 0.3


def test_embeddings_of_another_model_are_not_compared(sessions: Sessions) -> None:
    ids = seeded(sessions, {1: (1.0, 0.0), 2: (1.0, 0.0)}, {2: ("Sorry! DM us.", "ana")})
    with sessions.begin() as session:
        session.get_one(MentionVectorRow, ids[2]).model_version = "m0"
    with sessions() as session:
        assert similar_replies(session, ids[1]) == []


def test_a_forgotten_post_takes_its_embedding_with_it(sessions: Sessions) -> None:
    ids = seeded(sessions, {1: (1.0, 0.0), 2: (1.0, 0.0)}, {2: ("Sorry! DM us.", "ana")})
    with sessions.begin() as session:
        assert forget_mention(session, "x", "1002")
    with sessions() as session:
        assert session.get(MentionVectorRow, ids[2]) is None
        assert similar_replies(session, ids[1]) == []


def test_the_queue_card_shows_what_the_team_sent_to_similar_posts(
    sessions: Sessions, app_config: AppConfig
) -> None:
    own = OwnAccounts.build(app_config.brand)
    first = mention(1, "@NimbusCycles my battery arrived broken", author="ann")
    poll_once(ListListener("src", [first]), sessions, own)
    classify_pending(sessions, KeywordClassifier(), 10)
    with sessions.begin() as session:
        row = session.scalars(sa.select(MentionRow)).one()
        session.add(
            ReplyRow(idempotency_key="k1", mention_id=row.id, text=SORRY, status="sent", approved_by="ana",
                     created_at=NOW, updated_at=NOW, sent_at=NOW)
        )  # fmt: skip
    later = [
        mention(2, "@NimbusCycles battery arrived broken again", author="bo"),
        mention(3, "@NimbusCycles how do i pair the app?", author="cy"),
    ]
    poll_once(ListListener("src2", later), sessions, own)
    classify_pending(sessions, KeywordClassifier(), 10)
    link_pending(sessions, app_config, 10)
    queue = RecordingQueue()
    route_pending(
        sessions,
        Routing(cfg=app_config, templates=ReplyTemplates(app_config.routing.templates), queue=queue, own=own),
        10,
    )
    cards = {card.author_handle: card for card, _ in queue.cards}
    assert cards["bo"].similar_replies == (SORRY,)
    assert cards["cy"].similar_replies == ()  # nothing alike was answered yet
