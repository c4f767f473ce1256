"""The weekly report's and the alerts' figures, in SQL: the database counts, Python folds the counts.

Every label here is the one a mention carries now: its newest classification with people's corrections
winning (as store/labels.py applies them one mention at a time). A forgotten customer's mentions keep
their labels, cases and leads, so they are counted like any other; only their words are gone.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from platforms.registry import PLATFORMS
from store.models import (
    CaseRow,
    ClassificationRow,
    CustomerRow,
    LabelCorrectionRow,
    LeadRow,
    MentionRow,
    MentionVectorRow,
    SlaAlertRow,
)

ERASED = "[erased: the author was forgotten or deleted the post]"


def _is_newest_classification() -> sa.ColumnElement[bool]:
    """The classification is its mention's newest: written as a join condition (no newer one exists), so
    the database reads it by the mention_id index instead of hashing the whole table."""
    newer = so.aliased(ClassificationRow)
    return sa.and_(
        ClassificationRow.mention_id == MentionRow.id,
        ~sa.exists().where(newer.mention_id == MentionRow.id, newer.id > ClassificationRow.id),
    )


def _corrected(field: str) -> sa.ScalarSelect[Any]:
    """A person's newest correction of `field` on the mention, or NULL."""
    return (
        sa.select(LabelCorrectionRow.new_value)
        .where(LabelCorrectionRow.mention_id == MentionRow.id, LabelCorrectionRow.field == field)
        .order_by(LabelCorrectionRow.id.desc())
        .limit(1)
        .scalar_subquery()
    )


sentiment_now = sa.func.coalesce(_corrected("sentiment"), ClassificationRow.sentiment)
intent_now = sa.func.coalesce(_corrected("intent"), ClassificationRow.intent)
relevant_now = sa.func.coalesce(
    _corrected("relevant"),
    sa.case((ClassificationRow.id.is_(None), None), (ClassificationRow.relevant, "true"), else_="false"),
)
counted_now = sa.and_(relevant_now == "true", intent_now != "spam")  # what sentiment shares are shares of


def labelled(*columns: Any) -> sa.Select[Any]:
    """SELECT columns FROM mentions with each one's newest classification (NULLs when it has none)."""
    return (
        sa.select(*columns).select_from(MentionRow).outerjoin(ClassificationRow, _is_newest_classification())
    )


def tune_for_reports(session: so.Session) -> None:
    """PostgreSQL compiles each of the report's queries (JIT) for longer than most of them run: not in this
    transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL jit = off"))


def _between(start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(MentionRow.created_at >= start, MentionRow.created_at < end)


@dataclass(frozen=True, slots=True)
class LabelCount:
    span: int  # which of the spans asked for (a local day, say)
    platform: str
    sentiment: str | None  # None: not classified yet
    intent: str | None
    relevant: bool | None
    count: int


SPANS_PER_QUERY = 7  # each query reads one range by the created_at index, and tells 7 spans apart


def label_counts(session: so.Session, spans: Sequence[tuple[datetime, datetime]]) -> list[LabelCount]:
    """Mentions created in each [start, end) span (consecutive, in order) counted per platform and label.
    One query per few spans, each reading its own time range by the created_at index: a join of the spans
    as a table made PostgreSQL compare every mention with every span."""
    out: list[LabelCount] = []
    for first in range(0, len(spans), SPANS_PER_QUERY):
        chunk = spans[first : first + SPANS_PER_QUERY]
        span = sa.case(
            *((MentionRow.created_at < end, first + i) for i, (_, end) in enumerate(chunk)), else_=None
        ).label("span")
        inner = labelled(
            span,
            MentionRow.platform.label("platform"),
            sentiment_now.label("sentiment"),
            intent_now.label("intent"),
            relevant_now.label("relevant"),
        ).where(_between(chunk[0][0], chunk[-1][1]))
        rows = inner.subquery()
        keys = (rows.c.span, rows.c.platform, rows.c.sentiment, rows.c.intent, rows.c.relevant)
        out.extend(
            LabelCount(
                int(i), str(platform), sentiment, intent, None if rel is None else rel == "true", int(n)
            )
            for i, platform, sentiment, intent, rel, n in session.execute(
                sa.select(*keys, sa.func.count()).group_by(*keys)
            )
        )
    return out


def counts_between(
    session: so.Session, windows: Sequence[tuple[datetime, datetime]], *, negative_only: bool
) -> list[int]:
    """How many relevant non-spam mentions (negative ones only, if asked) each window holds."""
    counts = []
    for start, end in windows:
        where = [_between(start, end), counted_now]
        if negative_only:
            where.append(sentiment_now == "negative")
        counts.append(int(session.scalar(labelled(sa.func.count()).where(*where)) or 0))
    return counts


@dataclass(frozen=True, slots=True)
class Post:
    mention_id: int
    platform: str
    author: str
    text: str
    url: str
    created_at: datetime
    sentiment: str | None
    intent: str | None
    score: float | None = None  # what put it on its list: the model's confidence, engagement, a lead's score


def _post(row: Any, score: float | None = None) -> Post:
    erased = row.erased_at is not None
    return Post(
        mention_id=row.id,
        platform=row.platform,
        author="" if erased else row.author_handle,
        text=ERASED if erased else row.text,
        url="" if erased else row.url,
        created_at=row.created_at,
        sentiment=row.sentiment,
        intent=row.intent,
        score=score,
    )


POST_COLUMNS = (
    MentionRow.id,
    MentionRow.platform,
    MentionRow.author_handle,
    MentionRow.text,
    MentionRow.url,
    MentionRow.created_at,
    MentionRow.erased_at,
    sentiment_now.label("sentiment"),
    intent_now.label("intent"),
)


def posts_between(
    session: so.Session,
    start: datetime,
    end: datetime,
    *,
    sentiment: str | None = None,
    intents: Collection[str] = (),
    limit: int = 5000,
) -> list[Post]:
    """The words of relevant non-spam mentions in [start, end), newest first (what an alert explains)."""
    where = [_between(start, end), counted_now]
    if sentiment is not None:
        where.append(sentiment_now == sentiment)
    if intents:
        where.append(intent_now.in_(list(intents)))
    stmt = labelled(*POST_COLUMNS).where(*where).order_by(MentionRow.created_at.desc()).limit(limit)
    return [_post(row) for row in session.execute(stmt)]


def most_negative(session: so.Session, start: datetime, end: datetime, limit: int) -> list[Post]:
    """Negative posts the model was surest of (a person's "negative" counts as certain), then priority."""
    certainty = sa.case((_corrected("sentiment").is_not(None), 1.0), else_=ClassificationRow.sentiment_score)
    stmt = (
        labelled(*POST_COLUMNS, certainty.label("certainty"))
        .where(_between(start, end), counted_now, sentiment_now == "negative")
        .order_by(certainty.desc(), ClassificationRow.priority.desc(), MentionRow.id)
        .limit(limit)
    )
    return [_post(row, float(row.certainty)) for row in session.execute(stmt)]


def _engagement() -> sa.ColumnElement[int]:
    """Likes, shares, replies... as each platform's payload counts them (PlatformSpec.engagement)."""
    branches = []
    for name, spec in PLATFORMS.items():
        if spec.engagement:
            total: sa.ColumnElement[int] = sa.literal(0)
            for path in spec.engagement:
                total = total + sa.func.coalesce(MentionRow.raw[path].as_integer(), 0)
            branches.append((MentionRow.platform == name, total))
    return sa.case(*branches, else_=0) if branches else sa.literal(0)


def most_engaged(session: so.Session, start: datetime, end: datetime, limit: int) -> list[Post]:
    engagement = _engagement()
    stmt = (
        labelled(*POST_COLUMNS, engagement.label("engagement"))
        .where(_between(start, end), counted_now, engagement > 0)
        .order_by(engagement.desc(), MentionRow.id)
        .limit(limit)
    )
    return [_post(row, float(row.engagement)) for row in session.execute(stmt)]


@dataclass(frozen=True, slots=True)
class Vectors:
    """Embeddings of posts with their ids; `posts` has the words when they were asked for."""

    ids: list[int]
    blobs: list[bytes]
    posts: dict[int, Post]


def topic_vectors(
    session: so.Session,
    start: datetime,
    end: datetime,
    *,
    intents: Collection[str] = (),
    sentiment: str | None = None,
    with_posts: bool,
) -> Vectors:
    """The embeddings of relevant non-spam mentions in [start, end), of these intents or this sentiment
    if given (a forgotten author's embeddings are gone with their words)."""
    columns = (
        (*POST_COLUMNS, MentionVectorRow.vector) if with_posts else (MentionRow.id, MentionVectorRow.vector)
    )
    stmt = (
        labelled(*columns)
        .join(MentionVectorRow, MentionVectorRow.mention_id == MentionRow.id)
        .where(
            _between(start, end),
            counted_now,
            *([intent_now.in_(list(intents))] if intents else []),
            *([sentiment_now == sentiment] if sentiment else []),
        )
        .order_by(MentionRow.id)
    )
    ids, blobs, posts = [], [], {}
    for row in session.execute(stmt):
        ids.append(row.id)
        blobs.append(row.vector)
        if with_posts:
            posts[row.id] = _post(row)
    return Vectors(ids, blobs, posts)


@dataclass(frozen=True, slots=True)
class CaseTimes:
    platform: str
    priority: int
    opened_at: datetime
    first_response_at: datetime | None
    sla_due_at: datetime | None


def cases_opened(session: so.Session, start: datetime, end: datetime) -> list[CaseTimes]:
    """The times of each case opened in [start, end): a week's cases are the team's work (thousands, not
    millions), and business-hours durations need the SLA clock, which is Python."""
    stmt = sa.select(
        CaseRow.platform, CaseRow.priority, CaseRow.opened_at, CaseRow.first_response_at, CaseRow.sla_due_at
    ).where(CaseRow.opened_at >= start, CaseRow.opened_at < end)
    return [CaseTimes(*row) for row in session.execute(stmt)]


def sla_breaches(session: so.Session, start: datetime, end: datetime) -> dict[str, int]:
    """Breach alerts sent for due times in [start, end), by kind."""
    stmt = (
        sa.select(SlaAlertRow.kind, sa.func.count())
        .where(SlaAlertRow.kind.like("%breach"), SlaAlertRow.due_at >= start, SlaAlertRow.due_at < end)
        .group_by(SlaAlertRow.kind)
    )
    return {str(kind): int(n) for kind, n in session.execute(stmt)}


@dataclass(frozen=True, slots=True)
class LeadFigures:
    count: int
    by_product: dict[str, int]
    top: list[dict[str, Any]]


def leads_opened(session: so.Session, start: datetime, end: datetime, limit: int) -> LeadFigures:
    window = sa.and_(LeadRow.created_at >= start, LeadRow.created_at < end)
    count = int(session.scalar(sa.select(sa.func.count()).select_from(LeadRow).where(window)) or 0)
    product = sa.func.coalesce(LeadRow.product_interest, "(none named)")
    by_product = {
        str(name): int(n)
        for name, n in session.execute(
            sa.select(product, sa.func.count())
            .where(window)
            .group_by(product)
            .order_by(sa.func.count().desc())
        )
    }
    stmt = (
        sa.select(
            LeadRow.id,
            LeadRow.score,
            LeadRow.product_interest,
            LeadRow.signals,
            LeadRow.status,
            CustomerRow.id.label("customer_id"),
            CustomerRow.name,
            CustomerRow.forgotten_at,
            MentionRow.text,
            MentionRow.url,
            MentionRow.erased_at,
        )
        .join(CustomerRow, CustomerRow.id == LeadRow.customer_id)
        .outerjoin(MentionRow, MentionRow.id == LeadRow.mention_id)
        .where(window)
        .order_by(LeadRow.score.desc(), LeadRow.id)
        .limit(limit)
    )
    top = [
        {
            "lead_id": row.id,
            "score": round(float(row.score), 3),
            "product": row.product_interest,
            "signals": row.signals,
            "status": row.status,
            "customer_id": row.customer_id,
            "customer": "a forgotten customer" if row.forgotten_at else row.name,
            "text": ERASED if row.erased_at is not None else row.text,
            "url": "" if row.erased_at is not None else row.url,
        }
        for row in session.execute(stmt)
    ]
    return LeadFigures(count, by_product, top)


def vip_mentions(
    session: so.Session, start: datetime, end: datetime, vip: sa.ColumnElement[bool], limit: int
) -> tuple[dict[str, int], list[Post]]:
    """VIP customers' relevant mentions in [start, end): counts by sentiment, and the newest posts."""
    base = labelled().join(CustomerRow, CustomerRow.id == MentionRow.customer_id)
    where = (_between(start, end), relevant_now == "true", vip)
    sentiment = sentiment_now.label("sentiment")
    counts = {
        str(s or "unclassified"): int(n)
        for s, n in session.execute(
            base.add_columns(sentiment, sa.func.count()).where(*where).group_by(sentiment)
        )
    }
    rows = session.execute(
        base.add_columns(*POST_COLUMNS).where(*where).order_by(MentionRow.created_at.desc()).limit(limit)
    )
    return counts, [_post(row) for row in rows]


def newest_post_per_source(session: so.Session, since: datetime) -> Mapping[str, tuple[int, datetime]]:
    """Per source: how many posts it stored created since `since`, and the newest one's time."""
    stmt = (
        sa.select(MentionRow.source, sa.func.count(), sa.func.max(MentionRow.created_at))
        .where(MentionRow.created_at >= since)
        .group_by(MentionRow.source)
    )
    out = {}
    for source, n, newest in session.execute(stmt):
        # func.max loses the column's type on SQLite: a string or a naive datetime comes back
        at = newest if isinstance(newest, datetime) else datetime.fromisoformat(str(newest))
        out[str(source)] = (int(n), at.replace(tzinfo=at.tzinfo or UTC).astimezone(UTC))
    return out
