"""The weekly report's figures: everything report.json holds, from SQL counts folded on the brand's clock."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from hark.records import INTENTS, SENTIMENTS
from reports.config import ReportsConfig
from reports.topics import Topic, find_topics, unit_rows
from reports.weeks import IsoWeek, local_midnight
from store.report_queries import (
    CaseTimes,
    LabelCount,
    Post,
    cases_opened,
    label_counts,
    leads_opened,
    most_engaged,
    most_negative,
    sla_breaches,
    topic_vectors,
    vip_mentions,
)
from store.sla import SlaClock

TOPIC_INTENTS = ("complaint", "support_question")  # what people keep asking and complaining about
TOPIC_HISTORY_WEEKS = 4  # a topic is new unless these weeks before brought it too
PRIORITY_BANDS = ((70, "high"), (40, "medium"), (0, "low"))  # by a case's priority (0-100)
CHANGES = 6  # what changed most against last week: this many lines


@dataclass(frozen=True)
class ReportInputs:
    """What the report needs to know besides the store."""

    week: IsoWeek
    zone: ZoneInfo
    cfg: ReportsConfig
    clock: SlaClock  # response times in business hours when the SLA counts them so
    vip: sa.ColumnElement[bool]  # which customers are VIPs (store.customers.vip_clause)
    brand_words: frozenset[str] = frozenset()  # the brand's own name says nothing about a topic
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class WeeklyReport:
    figures: dict[str, Any]  # report.json: every number the report shows
    topics: list[Topic]


def net(positive: int, negative: int, counted: int) -> float | None:
    """(positive - negative) / relevant non-spam mentions; None for a week without any."""
    return round((positive - negative) / counted, 4) if counted else None


def _sentiment_of(counts: Counter[str]) -> dict[str, Any]:
    counted = sum(counts[s] for s in SENTIMENTS)
    return {
        **{s: counts[s] for s in SENTIMENTS},
        "counted": counted,
        "net": net(counts["positive"], counts["negative"], counted),
        "shares": {s: round(counts[s] / counted, 4) if counted else None for s in SENTIMENTS},
    }


@dataclass
class _Week:
    mentions: int = 0
    unclassified: int = 0
    relevant: int = 0
    sentiment: Counter[str] = field(default_factory=Counter)  # relevant, non-spam
    intents: Counter[str] = field(default_factory=Counter)  # relevant
    by_platform: Counter[str] = field(default_factory=Counter)
    by_day: dict[date, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, day: date, row: LabelCount) -> None:
        self.mentions += row.count
        self.by_platform[row.platform] += row.count
        self.by_day[day][row.platform] += row.count
        if row.sentiment is None:
            self.unclassified += row.count
            return
        if row.relevant:
            self.relevant += row.count
            self.by_day[day]["relevant"] += row.count
            self.intents[str(row.intent)] += row.count
            if row.intent != "spam":
                self.sentiment[row.sentiment] += row.count


def _spans(weeks: Sequence[IsoWeek], zone: ZoneInfo) -> list[tuple[date, date]]:
    """What to count: each earlier week whole, the report's own week day by day ((first day, next day))."""
    whole = [(w.monday, w.shifted(1).monday) for w in weeks[:-1]]
    return whole + [(d, d + timedelta(days=1)) for d in weeks[-1].days()]


def _fold(rows: Sequence[LabelCount], spans: Sequence[tuple[date, date]]) -> dict[IsoWeek, _Week]:
    """Counts per span (label_counts' answer) into their ISO weeks, under the span's first day."""
    folded: dict[IsoWeek, _Week] = defaultdict(_Week)
    for row in rows:
        day = spans[row.span][0]
        folded[IsoWeek.of(day)].add(day, row)
    return folded


def _post(post: Post, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "mention_id": post.mention_id,
        "platform": post.platform,
        "author": post.author,
        "text": post.text,
        "url": post.url,
        "created_at": post.created_at.astimezone(zone).isoformat(),
        "sentiment": post.sentiment,
        "intent": post.intent,
        **({"score": round(post.score, 4)} if post.score is not None else {}),
    }


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """The q-quantile by nearest rank: the smallest value with at least q of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def band(priority: int) -> str:
    return next(name for floor, name in PRIORITY_BANDS if priority >= floor)


def _response(cases: Sequence[CaseTimes], clock: SlaClock, now: datetime) -> dict[str, Any]:
    """First responses of these cases: minutes on the SLA clock, and how many came by their due time."""
    answered = [c for c in cases if c.first_response_at is not None]
    minutes = [
        clock.between(c.opened_at, c.first_response_at).total_seconds() / 60
        for c in answered
        if c.first_response_at is not None
    ]
    judged = [
        c
        for c in cases
        if c.sla_due_at is not None and (c.first_response_at is not None or c.sla_due_at <= now)
    ]  # an unanswered case not yet due has neither met nor missed its target
    met = sum(
        1
        for c in judged
        if c.first_response_at is not None
        and c.sla_due_at is not None
        and c.first_response_at <= c.sla_due_at
    )
    median = statistics.median(minutes) if minutes else None
    p90 = nearest_rank(minutes, 0.9)
    return {
        "cases": len(cases),
        "answered": len(answered),
        "unanswered": len(cases) - len(answered),
        "median_first_response_minutes": None if median is None else round(median, 1),
        "p90_first_response_minutes": None if p90 is None else round(p90, 1),
        "with_target": len(judged),
        "within_target": met,
        "within_target_share": round(met / len(judged), 4) if judged else None,
    }


def _responses(cases: Sequence[CaseTimes], clock: SlaClock, now: datetime) -> dict[str, Any]:
    by_platform: dict[str, list[CaseTimes]] = defaultdict(list)
    by_band: dict[str, list[CaseTimes]] = defaultdict(list)
    for case in cases:
        by_platform[case.platform].append(case)
        by_band[band(case.priority)].append(case)
    return {
        "overall": _response(cases, clock, now),
        "by_platform": {p: _response(c, clock, now) for p, c in sorted(by_platform.items())},
        "by_priority": {
            name: _response(by_band[name], clock, now) for _, name in PRIORITY_BANDS if name in by_band
        },
    }


def _changes(this: dict[str, float], last: dict[str, float]) -> list[dict[str, Any]]:
    """The counts that moved most, by how unlikely the move is for counts of that size (|a-b| / sqrt(b+1))."""
    lines: list[dict[str, Any]] = []
    for name in sorted(set(this) | set(last)):
        a, b = this.get(name, 0), last.get(name, 0)
        if a == b:
            continue
        lines.append(
            {
                "what": name,
                "this_week": a,
                "last_week": b,
                "change": round((a - b) / b, 4) if b else None,  # None: it was zero last week
                "surprise": round(abs(a - b) / math.sqrt(b + 1), 3),
            }
        )
    return sorted(lines, key=lambda line: (-line["surprise"], line["what"]))[:CHANGES]


def _countables(week: _Week, response: dict[str, Any], leads: int) -> dict[str, float]:
    out: dict[str, float] = {"mentions": week.mentions, "leads": leads}
    out.update({f"mentions on {p}": n for p, n in week.by_platform.items()})
    out.update({f"intent {i}": n for i, n in week.intents.items()})
    out.update({f"{s} posts": n for s, n in week.sentiment.items()})
    out["unanswered cases"] = response["overall"]["unanswered"]
    return out


def _topic(topic: Topic, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "name": topic.name,
        "terms": topic.terms,
        "size": topic.size,
        "new": topic.new,
        "earlier_per_week": topic.earlier_per_week,
        "intents": topic.intents,
        "examples": [_post(p, zone) for p in topic.examples],
    }


def build_weekly(session: so.Session, inputs: ReportInputs) -> WeeklyReport:
    week, zone, cfg = inputs.week, inputs.zone, inputs.cfg
    weeks = [week.shifted(-i) for i in reversed(range(cfg.trend_weeks))]
    this_start, this_end = week.bounds(zone)
    last_start, last_end = week.shifted(-1).bounds(zone)
    spans = _spans(weeks, zone)
    counts = label_counts(session, [(local_midnight(a, zone), local_midnight(b, zone)) for a, b in spans])
    folded = _fold(counts, spans)
    this, last = folded[week], folded[week.shifted(-1)]

    cases_this = cases_opened(session, this_start, this_end)
    cases_last = cases_opened(session, last_start, last_end)
    response_this = _responses(cases_this, inputs.clock, inputs.now)
    response_last = _responses(cases_last, inputs.clock, inputs.now)
    leads_this = leads_opened(session, this_start, this_end, cfg.top_posts)
    leads_last = leads_opened(session, last_start, last_end, 0)
    vip_counts, vip_posts = vip_mentions(session, this_start, this_end, inputs.vip, cfg.top_posts)

    current = topic_vectors(session, this_start, this_end, intents=TOPIC_INTENTS, with_posts=True)
    history_start = week.shifted(-TOPIC_HISTORY_WEEKS).bounds(zone)[0]
    before = topic_vectors(session, history_start, this_start, intents=TOPIC_INTENTS, with_posts=False)
    topics = find_topics(
        [current.posts[i] for i in current.ids],
        unit_rows(current.blobs),
        unit_rows(before.blobs),
        TOPIC_HISTORY_WEEKS,
        max_topics=cfg.max_topics,
        min_size=cfg.min_topic_size,
        ignore=inputs.brand_words,
    )
    figures: dict[str, Any] = {
        "week": str(week),
        "timezone": zone.key,
        "start": this_start.astimezone(zone).isoformat(),
        "end": this_end.astimezone(zone).isoformat(),
        "generated_at": inputs.now.astimezone(UTC).isoformat(),
        "volume": {
            "total": this.mentions,
            "relevant": this.relevant,
            "unclassified": this.unclassified,
            "last_week_total": last.mentions,
            "by_platform": dict(sorted(this.by_platform.items())),
            "by_day": [
                {
                    "date": day.isoformat(),
                    "total": sum(n for k, n in this.by_day[day].items() if k != "relevant"),
                    "relevant": this.by_day[day]["relevant"],
                    "by_platform": {k: n for k, n in sorted(this.by_day[day].items()) if k != "relevant"},
                }
                for day in week.days()
            ],
        },
        "sentiment": {
            "this_week": _sentiment_of(this.sentiment),
            "last_week": _sentiment_of(last.sentiment),
            "trend": [
                {"week": str(w), "mentions": folded[w].mentions, **_sentiment_of(folded[w].sentiment)}
                for w in weeks
            ],
        },
        "intents": {
            "this_week": {i: this.intents[i] for i in INTENTS},
            "last_week": {i: last.intents[i] for i in INTENTS},
        },
        "topics": [_topic(t, zone) for t in topics],
        "topics_posts": len(current.ids),
        "response": {**response_this, "sla_breaches": sla_breaches(session, this_start, this_end)},
        "leads": {
            "count": leads_this.count,
            "last_week_count": leads_last.count,
            "by_product": leads_this.by_product,
            "top": leads_this.top,
        },
        "vip": {
            "mentions": sum(vip_counts.values()),
            "by_sentiment": vip_counts,
            "recent": [_post(p, zone) for p in vip_posts],
        },
        "most_negative": [
            _post(p, zone) for p in most_negative(session, this_start, this_end, cfg.top_posts)
        ],
        "most_engaged": [_post(p, zone) for p in most_engaged(session, this_start, this_end, cfg.top_posts)],
        "changes": _changes(
            _countables(this, response_this, leads_this.count),
            _countables(last, response_last, leads_last.count),
        ),
    }
    return WeeklyReport(figures, topics)
