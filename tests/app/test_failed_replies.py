"""A reply that fails for good reaches a person: a card for a post nobody was shown, a note on the card of
one that was; once per failure."""

from __future__ import annotations

import sqlalchemy as sa

from app.config import AppConfig
from app.delivery import deliver_pending
from app.pipeline import surface_failed_replies
from app.runner import run_once
from hark.errors import PermanentError
from hark.records import ReplyDraft
from store.db import Sessions
from store.models import CaseRow, MentionRow, ReplyRow
from store.replies import queue_reply
from store.reply_review import approve_reply
from tests.app.test_pipeline import make_runtime
from tests.fakes import RecordingQueue, RecordingReplier


class Refusing(RecordingReplier):
    """A platform that refuses the replies to some posts for good (a deleted post, say)."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        super().__init__()
        self.refuse = refuse

    def deliver(self, draft: ReplyDraft) -> str:
        if self.refuse is None or draft.in_reply_to in self.refuse:
            raise PermanentError(f"x refused replying to {draft.in_reply_to}: the post was deleted")
        return super().deliver(draft)


def test_a_failed_automated_reply_puts_its_post_on_a_card_once(
    app_config: AppConfig, sessions: Sessions
) -> None:
    queue, replier = RecordingQueue(), Refusing()
    run_once(make_runtime(app_config, sessions, queue, replier))
    with sessions() as session:
        failed = session.scalars(sa.select(ReplyRow).where(ReplyRow.status == "failed")).all()
        assert failed, "the sample has praise that is thanked automatically"
        assert all(reply.approved_by == "auto" and reply.surfaced_at is not None for reply in failed)
        mentions = {reply.mention_id: session.get_one(MentionRow, reply.mention_id) for reply in failed}
        assert all(
            m.route_action == "queue" and "(reply failed)" in (m.route_rule or "") for m in mentions.values()
        )
        assert all(reply.case_id == mentions[reply.mention_id].case_id is not None for reply in failed)
    shown = {card.mention_id: card for card, _ in queue.cards if card.notice}
    assert set(shown) == set(mentions)
    for reply in failed:
        card = shown[reply.mention_id]
        assert card.suggested_reply == reply.text  # the team starts from the words that failed
        assert card.notice == f"Our reply to this post failed: {reply.error}."
        assert "the post was deleted" in card.notice
    cards = len(queue.cards)
    run_once(make_runtime(app_config, sessions, queue, replier))
    assert len(queue.cards) == cards
    assert queue.notes == []


def test_a_failed_reply_to_a_post_on_a_card_is_a_note_in_its_thread_each_time_it_fails(
    app_config: AppConfig, sessions: Sessions
) -> None:
    queue = RecordingQueue()
    runtime = make_runtime(app_config, sessions, queue, RecordingReplier())
    run_once(runtime)
    card, _ = queue.cards[0]
    with sessions.begin() as session:
        row = session.get_one(MentionRow, card.mention_id)
        target = row.external_id
        queue_reply(
            session,
            row,
            "Sorry about that, we are on it",
            template=None,
            status="approved",
            approved_by="ann",
        )
        reply_id = session.scalars(sa.select(ReplyRow.id).where(ReplyRow.mention_id == row.id)).one()
        case = session.get_one(CaseRow, card.case_id)
        thread = (case.slack_channel, case.slack_ts)
    refusing = Refusing({target})
    assert deliver_pending(sessions, {"x": refusing, "reddit": refusing}, False, 10) == 0
    assert surface_failed_replies(sessions, runtime.routing, 10) == 1
    assert surface_failed_replies(sessions, runtime.routing, 10) == 0
    [(channel, ts, text)] = queue.notes
    assert (channel, ts) == thread
    assert text.startswith(
        f"Our reply to {row.url} failed: x refused replying to {target}: the post was deleted"
    )
    assert "It was: Sorry about that, we are on it" in text
    assert f"hark replies approve {reply_id}" in text
    with sessions.begin() as session:
        approve_reply(session, reply_id, by="ann")  # she tries again; it fails again: she hears of it again
    deliver_pending(sessions, {"x": refusing, "reddit": refusing}, False, 10)
    assert surface_failed_replies(sessions, runtime.routing, 10) == 1
    assert len(queue.notes) == 2
    assert len([c for c, _ in queue.cards if c.notice]) == 0  # the post had a card: no second one
