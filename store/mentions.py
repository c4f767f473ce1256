"""Insert mentions once, keep source cursors, and turn rows back into records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hark.records import Author, Mention
from store.models import MentionRow, SourceCursorRow


def _json_safe(raw: Any) -> dict[str, Any]:
    return dict(raw) if isinstance(raw, dict) else {"value": raw}


def mention_values(mention: Mention, fetched_at: datetime) -> dict[str, Any]:
    author = mention.author
    return {
        "platform": mention.platform,
        "external_id": mention.external_id,
        "source": mention.source,
        "kind": mention.kind,
        "author_user_id": author.user_id,
        "author_handle": author.handle,
        "author_name": author.display_name or None,
        "author_followers": author.followers,
        "author_verified": author.verified,
        "author_description": author.description or None,  # kept for link suggestions
        "author_url": author.url or None,
        "text": mention.text,
        "url": mention.url,
        "language": mention.language,
        "conversation_id": mention.conversation_id,
        "in_reply_to": mention.in_reply_to,
        "mentions_brand_account": mention.mentions_brand_account,
        "created_at": mention.created_at,
        "fetched_at": fetched_at,
        "raw": _json_safe(mention.raw),
    }


def add_mentions(session: so.Session, mentions: Sequence[Mention]) -> list[int]:
    """Insert mentions not seen before; return the ids of the new rows only."""
    if not mentions:
        return []
    now = datetime.now(UTC)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(MentionRow)
        .values([mention_values(m, now) for m in mentions])
        .on_conflict_do_nothing(index_elements=["platform", "external_id"])
        .returning(MentionRow.id)
    )
    return list(session.scalars(stmt))


def load_cursor(session: so.Session, source: str) -> str | None:
    return session.scalar(sa.select(SourceCursorRow.cursor).where(SourceCursorRow.source == source))


def save_cursor(session: so.Session, source: str, cursor: str | None) -> None:
    row = session.get(SourceCursorRow, source)
    now = datetime.now(UTC)
    if row is None:
        session.add(SourceCursorRow(source=source, cursor=cursor, updated_at=now))
    else:
        row.cursor, row.updated_at = cursor, now


def to_mention(row: MentionRow) -> Mention:
    """Rebuild the record a listener produced, for stages that work on records."""
    return Mention(
        platform=row.platform,
        external_id=row.external_id,
        source=row.source,
        kind=row.kind,  # type: ignore[arg-type]  # written from a MentionKind by add_mentions
        author=Author(
            platform=row.platform,
            user_id=row.author_user_id,
            handle=row.author_handle,
            display_name=row.author_name or "",
            followers=row.author_followers,
            verified=row.author_verified,
        ),
        text=row.text,
        url=row.url,
        created_at=row.created_at,
        language=row.language,
        conversation_id=row.conversation_id,
        in_reply_to=row.in_reply_to,
        mentions_brand_account=row.mentions_brand_account,
    )


def stored_platforms(session: so.Session) -> set[str]:
    """Every platform that stored mentions name."""
    return set(session.scalars(sa.select(MentionRow.platform).distinct()))


Stage = Literal["classify", "link", "route"]


def _waiting_for(stage: Stage) -> tuple[sa.ColumnElement[bool], ...]:
    """Mentions the stage has not done yet, whose earlier stage has."""
    match stage:
        case "classify":
            return (MentionRow.classified_at.is_(None),)
        case "link":
            return (MentionRow.classified_at.is_not(None), MentionRow.linked_at.is_(None))
        case "route":
            return (MentionRow.linked_at.is_not(None), MentionRow.routed_at.is_(None))


def pending_mentions(session: so.Session, stage: Stage, limit: int) -> Sequence[MentionRow]:
    """Up to `limit` mentions waiting for `stage`, oldest first."""
    return session.scalars(
        sa.select(MentionRow).where(*_waiting_for(stage)).order_by(MentionRow.id).limit(limit)
    ).all()


def mark_linked(session: so.Session, mention_ids: Iterable[int], at: datetime) -> None:
    ids = list(mention_ids)
    if ids:
        session.execute(sa.update(MentionRow).where(MentionRow.id.in_(ids)).values(linked_at=at))


def set_route(row: MentionRow, action: str, rule: str, *, routed_at: datetime | None) -> None:
    """Record the routing decision; `routed_at` None leaves the mention for its card to be posted."""
    row.route_action, row.route_rule = action, rule
    if routed_at is not None:
        row.routed_at = routed_at


def mark_routed(session: so.Session, mention_id: int, at: datetime) -> None:
    session.get_one(MentionRow, mention_id).routed_at = at


def earlier_mentions(session: so.Session, customer_id: int | None, before_id: int) -> int:
    """How many mentions the customer posted before this one (a queue card shows it)."""
    if customer_id is None:
        return 0
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(MentionRow)
            .where(MentionRow.customer_id == customer_id, MentionRow.id < before_id)
        )
        or 0
    )


def search_mentions(session: so.Session, words: str, limit: int) -> Sequence[MentionRow]:
    """The newest mentions whose text holds `words` (any case; `%` and `_` are matched as themselves)."""
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return session.scalars(
        sa.select(MentionRow)
        .where(MentionRow.text.ilike(f"%{escaped}%", escape="\\"))
        .order_by(MentionRow.created_at.desc(), MentionRow.id.desc())
        .limit(limit)
    ).all()
