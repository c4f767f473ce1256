"""The reply outbox: queue once, send at most once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from hark.records import Mention, ReplyDraft
from platforms.registry import get_platform
from store.cases import mark_first_response
from store.inserts import insert_new
from store.models import MentionRow, ReplyRow

log = logging.getLogger(__name__)
AUTO = "auto"  # approved_by of a reply the policy approved
INTERRUPTED = "interrupted while sending: check the platform before sending again"


def reply_key(platform: str, external_id: str) -> str:
    return f"reply:{platform}:{external_id}"


def queue_reply(
    session: so.Session,
    mention: MentionRow,
    text: str,
    *,
    template: str | None,
    status: str,
    approved_by: str | None = None,
    error: str | None = None,
) -> bool:
    """Queue the reply to a mention. False if one is already queued or sent."""
    now = datetime.now(UTC)
    values = {
        "idempotency_key": reply_key(mention.platform, mention.external_id),
        "case_id": mention.case_id,
        "mention_id": mention.id,
        "text": text,
        "template": template,
        "status": status,
        "approved_by": approved_by,
        "error": error,
        "created_at": now,
        "updated_at": now,
    }
    return insert_new(session, ReplyRow, values, unique=["idempotency_key"])


def outbox_reply(session: so.Session, mention: MentionRow) -> ReplyRow | None:
    """The outbox's one reply to a mention, if one was queued."""
    key = reply_key(mention.platform, mention.external_id)
    return session.scalar(sa.select(ReplyRow).where(ReplyRow.idempotency_key == key))


LIVE_STATES = ("draft", "approved", "sending", "sent")  # replies that count against the caps


def _count_live_replies(session: so.Session, exclude: int | None, *conditions: sa.ColumnElement[bool]) -> int:
    stmt = (
        sa.select(sa.func.count())
        .select_from(ReplyRow)
        .join(MentionRow, MentionRow.id == ReplyRow.mention_id)
        .where(ReplyRow.status.in_(LIVE_STATES), *conditions)
    )
    if exclude is not None:  # the reply being weighed does not count against itself
        stmt = stmt.where(ReplyRow.mention_id != exclude)
    return session.scalar(stmt) or 0


def replies_to_author_since(
    session: so.Session, platform: str, author_user_id: str, since: datetime, *, exclude: int | None = None
) -> int:
    """Replies queued or sent to one author since a moment: the per-author cap counts these."""
    return _count_live_replies(
        session,
        exclude,
        MentionRow.platform == platform,
        MentionRow.author_user_id == author_user_id,
        ReplyRow.created_at >= since,
    )


def replies_in_thread(
    session: so.Session, platform: str, conversation_id: str, *, exclude: int | None = None
) -> int:
    """Replies queued or sent anywhere in one conversation: the per-thread cap counts these."""
    return _count_live_replies(
        session, exclude, MentionRow.platform == platform, MentionRow.conversation_id == conversation_id
    )


def automated_replies_since(
    session: so.Session, platform: str, since: datetime, *, exclude: int | None = None
) -> int:
    """Automated replies queued or sent from our account on a platform since a moment: the account caps."""
    return _count_live_replies(
        session,
        exclude,
        MentionRow.platform == platform,
        ReplyRow.approved_by == AUTO,
        ReplyRow.created_at >= since,
    )


def identical_replies_since(
    session: so.Session, platform: str, text: str, since: datetime, *, exclude: int | None = None
) -> int:
    """Replies with exactly this text on a platform since a moment (X refuses an account's duplicates)."""
    return _count_live_replies(
        session, exclude, MentionRow.platform == platform, ReplyRow.text == text, ReplyRow.created_at >= since
    )


def record_observed_reply(session: so.Session, post: Mention) -> None:
    """A reply our team posted by hand is stored as sent and counts as the first response of its case."""
    if post.in_reply_to is None:
        return
    target = session.scalar(
        sa.select(MentionRow).where(
            MentionRow.platform == post.platform, MentionRow.external_id == post.in_reply_to
        )
    )
    if target is None:
        return
    key = f"observed:{post.platform}:{post.external_id}"
    known = sa.or_(
        ReplyRow.idempotency_key == key,
        # our own automated or approved reply, read back by a listener: already in the outbox as sent
        sa.and_(ReplyRow.platform_post_id == post.external_id, ReplyRow.mention_id == target.id),
    )
    if session.scalar(sa.select(ReplyRow.id).where(known)) is None:
        session.add(
            ReplyRow(
                idempotency_key=key,
                case_id=target.case_id,
                mention_id=target.id,
                text=post.text,
                template=None,
                status="sent",
                approved_by=f"posted by {get_platform(post.platform).display_handle(post.author.handle)}",
                platform_post_id=post.external_id,
                created_at=post.created_at,
                updated_at=datetime.now(UTC),  # when Hark saw it: its card shows it at the next refresh
                sent_at=post.created_at,
            )
        )
    mark_first_response(session, target.case_id, post.created_at)


def adopt_replies(session: so.Session, mention_id: int, case_id: int) -> None:
    """Replies seen before the mention had a case (our team answered before Hark linked it) join the case,
    and the earliest of them is its first response."""
    orphans = session.scalars(
        sa.select(ReplyRow).where(ReplyRow.mention_id == mention_id, ReplyRow.case_id.is_(None))
    ).all()
    for reply in orphans:
        reply.case_id = case_id
    sent = [r.sent_at for r in orphans if r.status == "sent" and r.sent_at is not None]
    if sent:
        mark_first_response(session, case_id, min(sent))


def approved_reply_ids(
    session: so.Session, limit: int, now: datetime, *, only: Sequence[int] | None = None
) -> Sequence[int]:
    """Replies waiting to be sent and due (past any backoff), oldest first; among `only`, if given."""
    stmt = (
        sa.select(ReplyRow.id)
        .where(ReplyRow.status == "approved", sa.or_(ReplyRow.retry_at.is_(None), ReplyRow.retry_at <= now))
        .order_by(ReplyRow.id)
        .limit(limit)
    )
    if only is not None:
        stmt = stmt.where(ReplyRow.id.in_(only))
    return session.scalars(stmt).all()


def retry_reply(
    session: so.Session, reply_id: int, error: str, max_attempts: int, delay: Callable[[int], timedelta]
) -> bool:
    """The platform could not take the reply now: approved again after `delay(attempts)`, or failed for a
    person once `max_attempts` were made. True when it gave up."""
    reply = session.get_one(ReplyRow, reply_id)
    now = datetime.now(UTC)
    reply.attempts += 1
    reply.updated_at = now
    if reply.attempts >= max_attempts:
        reply.status, reply.error, reply.retry_at = (
            "failed",
            f"gave up after {reply.attempts} tries: {error}",
            None,
        )
        return True
    reply.status, reply.error, reply.retry_at = "approved", error, now + delay(reply.attempts)
    return False


def claim_reply(session: so.Session, reply_id: int) -> ReplyDraft | None:
    """Mark an approved reply `sending` and return what to post; None if someone else took it.

    Commit this before calling the platform: a crash after the call leaves it `sending`, and the next start
    asks the platform about it before anything is sent again.
    """
    reply = session.get_one(ReplyRow, reply_id)
    if reply.status != "approved":
        return None
    reply.status, reply.updated_at = "sending", datetime.now(UTC)  # updated_at: where a recovery looks from
    return _draft(reply, session.get_one(MentionRow, reply.mention_id))


def _draft(reply: ReplyRow, mention: MentionRow) -> ReplyDraft:
    return ReplyDraft(
        reply_id=reply.id,
        platform=mention.platform,
        in_reply_to=mention.external_id,
        author_handle=mention.author_handle,
        text=reply.text,
        idempotency_key=reply.idempotency_key,
        attempts=reply.attempts or 0,
        queued_at=reply.created_at,
    )


def set_reply_status(session: so.Session, reply_id: int, status: str, error: str | None) -> None:
    reply = session.get_one(ReplyRow, reply_id)
    reply.status, reply.error, reply.updated_at = status, error, datetime.now(UTC)


def mark_reply_sent(session: so.Session, reply_id: int, platform_post_id: str) -> None:
    """The platform took the reply: record its post id, and the case has its first response."""
    reply = session.get_one(ReplyRow, reply_id)
    now = datetime.now(UTC)
    reply.status, reply.platform_post_id, reply.sent_at, reply.updated_at = "sent", platform_post_id, now, now
    mark_first_response(session, reply.case_id, now)


def interrupted_replies(session: so.Session) -> list[tuple[ReplyDraft, datetime]]:
    """Replies a crash left `sending`, with when they were claimed: the platform may or may not have them."""
    out = []
    for reply in session.scalars(
        sa.select(ReplyRow).where(ReplyRow.status == "sending").order_by(ReplyRow.id)
    ):
        out.append((_draft(reply, session.get_one(MentionRow, reply.mention_id)), reply.updated_at))
    return out


def fail_interrupted_reply(session: so.Session, reply_id: int, why: str) -> None:
    """The platform cannot tell whether it has the reply: a person checks, Hark never resends it."""
    reply = session.get_one(ReplyRow, reply_id)
    reply.status, reply.error, reply.updated_at = "failed", f"{INTERRUPTED} ({why})", datetime.now(UTC)
    log.error("reply_interrupted reply=%d key=%s", reply.id, reply.idempotency_key)


def unsurfaced_failures(session: so.Session, limit: int) -> Sequence[ReplyRow]:
    """Replies that failed for good and that no card or note has shown the team yet, oldest first."""
    return session.scalars(
        sa.select(ReplyRow)
        .where(ReplyRow.status == "failed", ReplyRow.surfaced_at.is_(None))
        .order_by(ReplyRow.id)
        .limit(limit)
    ).all()


def mark_surfaced(session: so.Session, reply_id: int, case_id: int, at: datetime) -> None:
    """The team was shown the failed reply on the card of `case_id` (which now owns the reply)."""
    reply = session.get_one(ReplyRow, reply_id)
    reply.surfaced_at, reply.case_id = at, case_id
