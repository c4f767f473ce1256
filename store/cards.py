"""Queue cards as posted: what each showed of its post, where it is, and its case's and reply's state now."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from hark.records import CardState, QueueCard
from platforms.registry import get_platform
from store.models import CardRow, CaseRow, MentionRow, ReplyRow
from store.replies import outbox_reply

STATE_FIELD = "state"
NEVER_SHOWN = datetime(2000, 1, 1, tzinfo=UTC)  # before any change: the next refresh shows the card again


@dataclass(frozen=True, slots=True)
class ShownCard:
    """A posted card with its case's and reply's state of now: what an update shows."""

    card_id: int
    channel: str
    ts: str
    card: QueueCard


def record_card(
    session: so.Session,
    card: QueueCard,
    *,
    channel: str,
    ts: str | None,
    at: datetime,
    digest: str | None = None,
) -> None:
    """Keep what the card showed, without its state (read fresh at every update). A card held back in a
    burst has no ts yet, only the `digest` message that lists it."""
    content = {f.name: getattr(card, f.name) for f in dataclasses.fields(card) if f.name != STATE_FIELD}
    content["similar_replies"] = list(card.similar_replies)
    session.add(
        CardRow(
            case_id=card.case_id,
            mention_id=card.mention_id,
            addressed=card.channel,
            channel=channel,
            ts=ts,
            digest_ts=digest,
            content=content,
            posted_at=at,
            shown_at=at,
        )
    )


def cards_posted_since(session: so.Session, addressed: str, since: datetime) -> int:
    """Cards posted (not held) to the channel routing names `addressed` since a moment: a burst's measure."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(CardRow)
            .where(CardRow.addressed == addressed, CardRow.ts.is_not(None), CardRow.posted_at >= since)
        )
        or 0
    )


def held_cards(
    session: so.Session, limit: int, *, addressed: str | None = None, mention_id: int | None = None
) -> list[ShownCard]:
    """Cards a digest listed and that wait for their own message, oldest first: for one channel, or the
    one of a mention."""
    stmt = sa.select(CardRow).where(CardRow.ts.is_(None)).order_by(CardRow.id).limit(limit)
    if addressed is not None:
        stmt = stmt.where(CardRow.addressed == addressed)
    if mention_id is not None:
        stmt = stmt.where(CardRow.mention_id == mention_id)
    return [_shown(session, row) for row in session.scalars(stmt)]


def held_channels(session: so.Session) -> list[str]:
    """The channels (as routing names them) that have cards waiting in a digest."""
    return list(session.scalars(sa.select(CardRow.addressed).where(CardRow.ts.is_(None)).distinct()))


def post_held_card(session: so.Session, card_id: int, *, channel: str, ts: str, at: datetime) -> bool:
    """The held card has its own message now; False when another process posted it first."""
    result = session.execute(
        sa.update(CardRow)
        .where(CardRow.id == card_id, CardRow.ts.is_(None))
        .values(channel=channel, ts=ts, posted_at=at, shown_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # an UPDATE's CursorResult has rowcount


def _reply_of(session: so.Session, mention: MentionRow) -> ReplyRow | None:
    """The outbox's reply to the post, else the newest reply our team posted by hand."""
    outbox = outbox_reply(session, mention)
    if outbox is not None and outbox.status != "cancelled":
        return outbox
    observed = session.scalar(
        sa.select(ReplyRow)
        .where(ReplyRow.mention_id == mention.id, ReplyRow.status == "sent")
        .order_by(ReplyRow.sent_at.desc())
        .limit(1)
    )
    return observed or outbox


def card_state(session: so.Session, case: CaseRow, mention: MentionRow) -> CardState:
    reply = _reply_of(session, mention)
    reply_url = None
    if reply is not None and reply.platform_post_id and reply.status == "sent":
        reply_url = get_platform(mention.platform).reply_url(mention.url, reply.platform_post_id)
    return CardState(
        status=case.status,
        assignee=case.assignee,
        escalated=case.escalated,
        sla_due_at=case.sla_due_at if case.first_response_at is None and case.status != "resolved" else None,
        resolution_due_at=case.resolution_due_at if case.status != "resolved" else None,
        snoozed_until=case.snoozed_until,
        reply_status=reply.status if reply else None,
        reply_text=reply.text if reply else None,
        reply_by=reply.approved_by if reply else None,
        reply_url=reply_url,
        reply_error=reply.error if reply and reply.status in ("failed", "blocked") else None,
    )


def _shown(session: so.Session, row: CardRow) -> ShownCard:
    content: dict[str, Any] = dict(row.content)
    content["similar_replies"] = tuple(content.get("similar_replies") or ())
    case = session.get_one(CaseRow, row.case_id)
    mention = session.get_one(MentionRow, row.mention_id)
    card = QueueCard(**content, state=card_state(session, case, mention))
    return ShownCard(row.id, row.channel, row.ts or "", card)  # a held card has no message yet


def cards_of_case(session: so.Session, case_id: int) -> list[ShownCard]:
    rows = session.scalars(
        sa.select(CardRow).where(CardRow.case_id == case_id, CardRow.ts.is_not(None)).order_by(CardRow.id)
    )
    return [_shown(session, row) for row in rows]


def card_at(session: so.Session, channel: str, ts: str) -> ShownCard | None:
    """The card posted as message `ts` in `channel`, if it is one of ours."""
    row = session.scalar(sa.select(CardRow).where(CardRow.channel == channel, CardRow.ts == ts))
    return _shown(session, row) if row else None


def stale_cards(session: so.Session, limit: int) -> list[ShownCard]:
    """Cards whose case or reply changed after they last showed it (a send, a CLI approval, a new SLA)."""
    reply_changed = sa.exists().where(
        ReplyRow.mention_id == CardRow.mention_id, ReplyRow.updated_at > CardRow.shown_at
    )
    rows = session.scalars(
        sa.select(CardRow)
        .join(CaseRow, CaseRow.id == CardRow.case_id)
        .where(CardRow.ts.is_not(None), sa.or_(CaseRow.updated_at > CardRow.shown_at, reply_changed))
        .order_by(CardRow.id)
        .limit(limit)
    )
    return [_shown(session, row) for row in rows]


def mark_shown(session: so.Session, card_id: int, at: datetime) -> None:
    session.get_one(CardRow, card_id).shown_at = at


def reshow_cards(session: so.Session, mention_ids: list[int]) -> None:
    """The cards of these posts are shown again at the next refresh (their content was erased, say)."""
    if mention_ids:
        session.execute(
            sa.update(CardRow).where(CardRow.mention_id.in_(mention_ids)).values(shown_at=NEVER_SHOWN)
        )
