"""A person's work on the outbox: list and show replies; approve, edit or cancel one (each change audited)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from hark.errors import HarkError
from platforms.registry import get_platform
from store.case_actions import Outcome
from store.customers import audit
from store.models import MentionRow, ReplyRow
from store.replies import outbox_reply, queue_reply

STATUSES = ("draft", "blocked", "approved", "sending", "sent", "failed", "cancelled")
APPROVABLE = ("draft", "blocked", "failed")  # a person may send what the policy held back or what failed
EDITABLE = ("draft", "blocked", "approved", "failed")
CANCELLABLE = ("draft", "blocked", "approved", "failed")
NAME_LIMIT = 100  # replies.approved_by and audit_log.actor


class ReplyStateError(HarkError):
    """The reply is not in a state that allows this (sent, sending, cancelled), or is not there at all."""


def _document(reply: ReplyRow, mention: MentionRow) -> dict[str, Any]:
    return {
        "id": reply.id,
        "status": reply.status,
        "platform": mention.platform,
        "in_reply_to": mention.external_id,
        "mention_id": mention.id,
        "case_id": reply.case_id,
        "author": get_platform(mention.platform).display_handle(mention.author_handle),
        "text": reply.text,
        "template": reply.template,
        "approved_by": reply.approved_by,
        "error": reply.error,
        "platform_post_id": reply.platform_post_id,
        "created_at": reply.created_at.isoformat(),
        "updated_at": reply.updated_at.isoformat(),
        "sent_at": reply.sent_at.isoformat() if reply.sent_at else None,
    }


def list_replies(session: so.Session, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The newest replies first, optionally of one status."""
    if status is not None and status not in STATUSES:
        raise ReplyStateError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    stmt = (
        sa.select(ReplyRow, MentionRow)
        .join(MentionRow, MentionRow.id == ReplyRow.mention_id)
        .order_by(ReplyRow.id.desc())
        .limit(limit)
    )
    if status is not None:
        stmt = stmt.where(ReplyRow.status == status)
    return [_document(reply, mention) for reply, mention in session.execute(stmt).tuples()]


def _get(session: so.Session, reply_id: int) -> tuple[ReplyRow, MentionRow]:
    reply = session.get(ReplyRow, reply_id)
    if reply is None:
        raise ReplyStateError(f"no reply {reply_id}")
    return reply, session.get_one(MentionRow, reply.mention_id)


def show_reply(session: so.Session, reply_id: int) -> dict[str, Any]:
    return _document(*_get(session, reply_id))


def _who(by: str) -> str:
    """A person's name as the outbox and the audit log keep it."""
    if not by.strip() or len(by) > NAME_LIMIT:
        raise ReplyStateError(f"give who acts as 1 to {NAME_LIMIT} characters, not {len(by)}")
    return by.strip()


def _change(
    session: so.Session, reply_id: int, allowed: tuple[str, ...], what: str
) -> tuple[ReplyRow, MentionRow]:
    reply, mention = _get(session, reply_id)
    if reply.status not in allowed:
        raise ReplyStateError(
            f"reply {reply_id} is {reply.status}: only a {'/'.join(allowed)} reply can be {what}"
        )
    return reply, mention


def _check_fits(text: str, platform_name: str) -> int:
    """The text's length on its platform; ReplyStateError when it is empty or too long to post."""
    platform = get_platform(platform_name)
    if not text.strip():
        raise ReplyStateError("the reply has no text yet: give it one with `hark replies edit ID --text ...`")
    length = platform.reply_length(text)
    if length > platform.reply_limit:
        raise ReplyStateError(
            f"the text is {length} of {platform.title}'s {platform.reply_limit}: write something that fits"
        )
    return length


def approve_reply(session: so.Session, reply_id: int, *, by: str) -> dict[str, Any]:
    """A person sends the reply as it stands: the deliver stage posts it (once) at its next run."""
    by = _who(by)
    reply, mention = _change(session, reply_id, APPROVABLE, "approved")
    refusal = get_platform(mention.platform).reply_refusal(mention.mentions_brand_account, mention.raw)
    if refusal is not None:  # the platform would refuse it: no point queueing what cannot be sent
        raise ReplyStateError(refusal)
    _check_fits(reply.text, mention.platform)
    before = reply.status
    reply.status, reply.approved_by, reply.error, reply.updated_at = "approved", by, None, datetime.now(UTC)
    reply.surfaced_at = None  # should it fail again, the team hears of it again
    audit(session, by, "reply_approved", f"reply:{reply.id}", {"was": before})
    return _document(reply, mention)


def edit_reply(session: so.Session, reply_id: int, text: str, *, by: str) -> dict[str, Any]:
    """New words for a reply not yet sent; they must fit the platform. An approved reply stays approved,
    now by the person who wrote its words."""
    by = _who(by)
    reply, mention = _change(session, reply_id, EDITABLE, "edited")
    platform = get_platform(mention.platform)
    text = text.strip()
    length = platform.reply_length(text)
    if not text or length > platform.reply_limit:
        raise ReplyStateError(
            f"the text is {length} of {platform.title}'s {platform.reply_limit}: write it shorter"
        )
    reply.text, reply.template, reply.updated_at = text, None, datetime.now(UTC)
    if reply.status == "approved":
        reply.approved_by = by
    audit(session, by, "reply_edited", f"reply:{reply.id}", {"length": length})
    return _document(reply, mention)


def cancel_reply(session: so.Session, reply_id: int, *, by: str) -> dict[str, Any]:
    """The reply will never be sent; the row stays, so the mention keeps its one reply key."""
    by = _who(by)
    reply, mention = _change(session, reply_id, CANCELLABLE, "cancelled")
    before = reply.status
    reply.status, reply.updated_at = "cancelled", datetime.now(UTC)
    audit(session, by, "reply_cancelled", f"reply:{reply.id}", {"was": before})
    return _document(reply, mention)


def send_from_card(session: so.Session, mention_id: int, text: str, *, by: str) -> Outcome:
    """A person sends `text` to the post from its card: queued as approved (the deliver stage posts it
    once), or, when the policy held back or the platform refused the reply, that reply approved with these
    words. Two people at once, or one click delivered twice, approve it once; the other is told who did."""
    by = _who(by)
    mention = session.get(MentionRow, mention_id)
    if mention is None:
        raise ReplyStateError(f"no mention {mention_id}")
    refusal = get_platform(mention.platform).reply_refusal(mention.mentions_brand_account, mention.raw)
    if refusal is not None:
        return Outcome(False, refusal, refused=True)
    text = text.strip()
    length = _check_fits(text, mention.platform)
    now = datetime.now(UTC)
    if queue_reply(session, mention, text, template=None, status="approved", approved_by=by):
        audit(session, by, "reply_approved", f"mention:{mention.id}", {"was": None, "length": length})
        return Outcome(True)
    reply = outbox_reply(session, mention)
    assert reply is not None  # noqa: S101  # queue_reply found it there
    same_words = sa.case((ReplyRow.text == text, ReplyRow.template), else_=None)
    result = session.execute(
        sa.update(ReplyRow)
        .where(ReplyRow.id == reply.id, ReplyRow.status.in_(APPROVABLE))
        .values(
            status="approved",
            text=text,
            template=same_words,
            approved_by=by,
            error=None,
            surfaced_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount:  # type: ignore[attr-defined]  # an UPDATE's CursorResult has rowcount
        audit(session, by, "reply_approved", f"reply:{reply.id}", {"was": reply.status, "length": length})
        return Outcome(True)
    session.refresh(reply)
    if reply.status == "cancelled":
        return Outcome(False, "the reply to this post was cancelled: it is never sent", refused=True)
    return Outcome(False, f"approved the reply already ({reply.status})", holder=reply.approved_by)
