"""The deliver stage retries what a platform could not take yet, with backoff, then hands it to a person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine

from app.delivery import MAX_ATTEMPTS, deliver_pending, retry_delay
from app.pipeline import poll_once
from hark.errors import TransientError
from hark.records import ReplyDraft
from store.db import Sessions
from store.models import MentionRow, ReplyRow
from store.replies import queue_reply
from store.status import pipeline_status
from tests import builders
from tests.fakes import ListListener, RecordingReplier

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


class Busy(RecordingReplier):
    """A platform that answers "not now" `failures` times, then takes replies."""

    def __init__(self, failures: int, retry_after_s: float | None = None) -> None:
        super().__init__()
        self.failures, self.calls, self.retry_after_s = failures, 0, retry_after_s

    def deliver(self, draft: ReplyDraft) -> str:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise TransientError("x unavailable while replying: HTTP 503", retry_after_s=self.retry_after_s)
        return super().deliver(draft)


def approved(sessions: Sessions, *posts: tuple[int, str]) -> None:
    mentions = [builders.mention(n, author=f"a{n}", platform=platform) for n, platform in posts]
    poll_once(ListListener("src", mentions), sessions, builders.own_accounts())
    with sessions.begin() as session:
        for row in session.scalars(sa.select(MentionRow).order_by(MentionRow.id)):
            queue_reply(
                session, row, f"Thanks {row.external_id}", template="t", status="approved", approved_by="auto"
            )


def replies(sessions: Sessions) -> list[ReplyRow]:
    with sessions() as session:
        return list(session.scalars(sa.select(ReplyRow).order_by(ReplyRow.id)))


def test_backoff_doubles_from_30_seconds_and_respects_the_platform() -> None:
    assert [retry_delay(n, None).total_seconds() for n in (1, 2, 3, 7, 20)] == [30, 60, 120, 1800, 1800]
    assert retry_delay(1, 900).total_seconds() == 900


def test_a_platform_that_cannot_take_a_reply_now_gets_it_again_after_the_backoff(sessions: Sessions) -> None:
    approved(sessions, (1, "x"))
    platform = Busy(failures=1)
    with time_machine.travel(T0, tick=False) as clock:
        assert deliver_pending(sessions, {"x": platform}, False, 10) == 0
        [reply] = replies(sessions)
        assert (reply.status, reply.attempts) == ("approved", 1)
        assert reply.retry_at == T0 + timedelta(seconds=30)
        assert reply.error == "x unavailable while replying: HTTP 503"
        assert deliver_pending(sessions, {"x": platform}, False, 10) == 0  # not due yet: not even asked
        assert platform.calls == 1
        clock.shift(timedelta(seconds=31))
        assert deliver_pending(sessions, {"x": platform}, False, 10) == 1
    assert [r.status for r in replies(sessions)] == ["sent"]
    assert len(platform.drafts) == 1


def test_after_max_attempts_the_reply_fails_for_a_person_and_status_counts_it(sessions: Sessions) -> None:
    approved(sessions, (1, "x"))
    platform = Busy(failures=MAX_ATTEMPTS)
    with time_machine.travel(T0, tick=False) as clock:
        for _ in range(MAX_ATTEMPTS):
            deliver_pending(sessions, {"x": platform}, False, 10)
            clock.shift(timedelta(hours=1))
    [reply] = replies(sessions)
    assert reply.status == "failed"
    assert reply.error == f"gave up after {MAX_ATTEMPTS} tries: x unavailable while replying: HTTP 503"
    assert platform.calls == MAX_ATTEMPTS
    with sessions() as session:
        assert pipeline_status(session, [])["replies_failed"] == 1


def test_a_busy_platform_does_not_hold_up_another(sessions: Sessions) -> None:
    approved(sessions, (1, "x"), (2, "x"), (3, "reddit"))
    busy_x, reddit = Busy(failures=5), RecordingReplier()
    assert deliver_pending(sessions, {"x": busy_x, "reddit": reddit}, False, 10) == 1
    assert busy_x.calls == 1  # after X said "not now", its next reply waited for the next run
    assert [r.status for r in replies(sessions)] == ["approved", "approved", "sent"]
    assert [d.platform for d in reddit.drafts] == ["reddit"]


class StoredThenFailed(RecordingReplier):
    """A platform that stores the first post and then answers 503 anyway."""

    def deliver(self, draft: ReplyDraft) -> str:
        posted = super().deliver(draft)
        if len(self.drafts) == 1:
            raise TransientError("reddit unavailable while replying: ServerError")
        return posted


def test_a_retry_first_asks_whether_the_failed_try_got_through(sessions: Sessions) -> None:
    approved(sessions, (1, "reddit"))
    platform = StoredThenFailed()
    with time_machine.travel(T0, tick=False) as clock:
        assert deliver_pending(sessions, {"reddit": platform}, False, 10) == 0
        clock.shift(timedelta(minutes=1))
        assert deliver_pending(sessions, {"reddit": platform}, False, 10) == 1
    assert len(platform.drafts) == 1  # found on the platform: not posted a second time
    [reply] = replies(sessions)
    assert (reply.status, reply.platform_post_id) == ("sent", "post-1")
