"""The reply outbox: queue once, send at most once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.models import MentionRow, ReplyRow

SENT_STATES = ("sending", "sent")


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
) -> bool:
    """Queue the reply to a mention. False if one is already queued or sent."""
    now = datetime.now(UTC)
    try:
        with session.begin_nested():  # a duplicate rolls back this savepoint only
            session.add(
                ReplyRow(
                    idempotency_key=reply_key(mention.platform, mention.external_id),
                    case_id=mention.case_id,
                    mention_id=mention.id,
                    text=text,
                    template=template,
                    status=status,
                    approved_by=approved_by,
                    created_at=now,
                    updated_at=now,
                )
            )
    except sa.exc.IntegrityError:
        return False
    return True


LIVE_STATES = ("draft", "approved", "sending", "sent")  # replies that count against the caps


def _count_live_replies(session: so.Session, *conditions: sa.ColumnElement[bool]) -> int:
    stmt = (
        sa.select(sa.func.count())
        .select_from(ReplyRow)
        .join(MentionRow, MentionRow.id == ReplyRow.mention_id)
        .where(ReplyRow.status.in_(LIVE_STATES), *conditions)
    )
    return session.scalar(stmt) or 0


def replies_to_author_since(session: so.Session, platform: str, author_user_id: str, since: datetime) -> int:
    """Replies queued or sent to one author since a moment: the per-author cap counts these."""
    return _count_live_replies(
        session,
        MentionRow.platform == platform,
        MentionRow.author_user_id == author_user_id,
        ReplyRow.created_at >= since,
    )


def replies_in_thread(session: so.Session, platform: str, conversation_id: str) -> int:
    """Replies queued or sent anywhere in one conversation: the per-thread cap counts these."""
    return _count_live_replies(
        session, MentionRow.platform == platform, MentionRow.conversation_id == conversation_id
    )


def day_ago() -> datetime:
    return datetime.now(UTC) - timedelta(days=1)
