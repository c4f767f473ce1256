"""Spike and silence alerts, each saying why.

A spike: the last few hours hold far more posts (negative ones, or all) than the same hours of the previous
weeks did, by a robust z-score (median and MAD, so one past burst does not hide the next). The alert names
the words and topics that grew most against those same hours, with example posts. Spikes share one
cooldown, so one burst raises one alert.

A silent source: its polls stopped succeeding (or it was stopped: auth, a permanent error), or it stopped
finding posts for far longer than it usually goes without one. Each raises once and clears when the source
speaks again.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from reports.config import SilenceConfig, SpikeConfig
from reports.topics import find_topics, unit_rows, words
from store.alerts import Alert, active, clear, in_cooldown, raise_alert
from store.health import health_by_source
from store.models import MentionRow
from store.report_queries import counts_between, newest_post_per_source, posts_between, topic_vectors

SPIKES = ("spike_negative", "spike_all")
RECOVERED = "source_recovered"  # an event: a failing or silent source's alert cleared
MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution, scaled to its standard deviation
MIN_BASELINE_WEEKS = 3  # weeks of history a baseline needs before any spike can be told from noise
EXAMPLES = 3
QUOTE = 200  # characters of an example post in an alert


def robust_z(current: int, baseline: Sequence[int]) -> tuple[float, float]:
    """(z, the baseline's median): how far `current` is above the usual count. The spread never falls below
    the Poisson noise of the median's size, so a quiet baseline of zeros does not make 3 posts a spike."""
    median = statistics.median(baseline)
    mad = statistics.median(abs(b - median) for b in baseline)
    spread = max(MAD_TO_SIGMA * mad, math.sqrt(max(median, 1.0)))
    return (current - median) / spread, median


def growing_terms(current: Sequence[str], baseline: Sequence[str], windows: int, top: int = 5) -> list[str]:
    """Words of the window's posts that are far more frequent than in the baseline windows, on average."""
    now_counts = Counter(w for text in current for w in set(words(text, frozenset())))
    before = Counter(w for text in baseline for w in set(words(text, frozenset())))
    scored = []
    for word, n in now_counts.items():
        usual = before[word] / max(1, windows)
        if n >= 3 and n > 2 * usual:
            scored.append(((n - usual) / math.sqrt(usual + 1), word))
    return [w for _, w in sorted(scored, key=lambda s: (-s[0], s[1]))[:top]]


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE else text[: QUOTE - 1] + "…"


def _history_starts(session: so.Session) -> datetime | None:
    return session.scalar(sa.select(MentionRow.created_at).order_by(MentionRow.created_at).limit(1))


def check_spikes(
    session: so.Session, cfg: SpikeConfig, now: datetime, ignore: frozenset[str] = frozenset()
) -> list[Alert]:
    """The spike owed now (none inside the cooldown of the last one); the caller raises it."""
    cooldown = timedelta(hours=cfg.cooldown_hours)
    if in_cooldown(session, SPIKES, "mentions", now, cooldown):
        return []
    oldest = _history_starts(session)
    span = timedelta(hours=cfg.window_hours)
    windows = [
        (now - span - timedelta(weeks=i), now - timedelta(weeks=i)) for i in range(cfg.baseline_weeks + 1)
    ]
    baseline_windows = [w for w in windows[1:] if oldest is not None and w[0] >= oldest]
    if len(baseline_windows) < MIN_BASELINE_WEEKS:
        return []  # too little history to know what is usual
    for kind, sentiment in (("spike_negative", "negative"), ("spike_all", None)):
        current, *baseline = counts_between(
            session, [windows[0], *baseline_windows], negative_only=sentiment is not None
        )
        z, usual = robust_z(current, baseline)
        if current < cfg.min_count or z < cfg.sensitivity:
            continue
        return [
            _explain(
                session,
                kind=kind,
                sentiment=sentiment,
                window=windows[0],
                baseline_windows=baseline_windows,
                current=current,
                usual=usual,
                z=z,
                cfg=cfg,
                ignore=ignore,
            )
        ]
    return []


def _explain(
    session: so.Session,
    *,
    kind: str,
    sentiment: str | None,
    window: tuple[datetime, datetime],
    baseline_windows: Sequence[tuple[datetime, datetime]],
    current: int,
    usual: float,
    z: float,
    cfg: SpikeConfig,
    ignore: frozenset[str],
) -> Alert:
    posts = posts_between(session, *window, sentiment=sentiment)
    before = [p for w in baseline_windows for p in posts_between(session, *w, sentiment=sentiment)]
    terms = [
        t
        for t in growing_terms([p.text for p in posts], [p.text for p in before], len(baseline_windows))
        if t not in ignore
    ]
    now_vectors = topic_vectors(session, *window, sentiment=sentiment, with_posts=True)
    then = [topic_vectors(session, *w, sentiment=sentiment, with_posts=False).blobs for w in baseline_windows]
    topics = find_topics(
        [now_vectors.posts[i] for i in now_vectors.ids],
        unit_rows(now_vectors.blobs),
        unit_rows([b for blobs in then for b in blobs]),
        len(baseline_windows),
        max_topics=5,
        min_size=3,
        ignore=ignore,
    )
    grown = sorted(topics, key=lambda t: -(t.size - t.earlier_per_week))[:3]
    examples = grown[0].examples if grown else posts[:EXAMPLES]
    what = "Negative mentions" if sentiment else "Mentions"
    lines = [
        f"{what} are spiking: {current} in the last {cfg.window_hours} h, against a usual {usual:g} "
        f"in the same hours of the previous {len(baseline_windows)} weeks (robust z {z:.1f}).",
    ]
    if terms:
        lines.append("Growing words: " + ", ".join(terms) + ".")
    for topic in grown:
        lines.append(f"Topic: {topic.name}: {topic.size} posts, usually {topic.earlier_per_week:g}.")
    lines.extend(f"“{_quote(p.text)}” ({p.platform} {p.url})".replace(" )", ")") for p in examples[:EXAMPLES])
    detail = {
        "window": [window[0].isoformat(), window[1].isoformat()],
        "count": current,
        "baseline_median": usual,
        "baseline_windows": len(baseline_windows),
        "z": round(z, 2),
        "terms": terms,
        "topics": [
            {"name": t.name, "terms": t.terms, "size": t.size, "usually": t.earlier_per_week} for t in grown
        ],
        "examples": [p.mention_id for p in examples[:EXAMPLES]],
    }
    return Alert(kind, "mentions", "\n".join(lines), detail)


@dataclass(frozen=True)
class WatchedSource:
    name: str
    interval_s: int  # how often it is polled


def check_sources(
    session: so.Session, cfg: SilenceConfig, sources: Sequence[WatchedSource], now: datetime
) -> tuple[list[Alert], list[tuple[str, str]]]:
    """Alerts owed now for failing or silent sources, and (kind, source) alerts that have cleared."""
    health = health_by_source(session)
    history = timedelta(days=cfg.history_days)
    seen = newest_post_per_source(session, now - history)
    raised: list[Alert] = []
    cleared: list[tuple[str, str]] = []

    def judge(kind: str, source: str, why: str | None, detail: dict[str, object]) -> None:
        if why is None:
            if active(session, kind, source) is not None:
                cleared.append((kind, source))
        elif active(session, kind, source) is None:
            raised.append(Alert(kind, source, why, detail))

    for source in sources:
        row = health.get(source.name)
        failing = None
        if row is not None and row.stopped:
            failing = f"Source {source.name} is stopped and needs a person: {row.last_error}"
        elif row is not None:
            last_ok = row.last_success_at
            limit = timedelta(seconds=cfg.poll_multiple * source.interval_s)
            if (last_ok is None and row.consecutive_failures >= cfg.poll_multiple) or (
                last_ok is not None and now - last_ok > limit and row.consecutive_failures
            ):
                since = last_ok.isoformat() if last_ok else "it started"
                failing = f"Source {source.name} has not polled successfully since {since}: {row.last_error}"
        judge("source_failing", source.name, failing, {"error": row.last_error if row else None})

        count, newest = seen.get(source.name, (0, None))
        quiet = None
        if count >= 2 and newest is not None:
            # the usual gap while it still found posts: over the whole history, the silence itself would
            # count as usual (a source with a post a day was never silent, and one went quiet only late)
            usual_gap = (newest - (now - history)) / count
            limit = max(usual_gap * cfg.quiet_multiple, timedelta(hours=cfg.min_quiet_hours))
            if now - newest > limit:
                quiet = (
                    f"Source {source.name} has found no new post since {newest.isoformat()} "
                    f"({(now - newest).total_seconds() / 3600:.1f} h); it usually finds one every "
                    f"{usual_gap.total_seconds() / 60:.0f} min. Its search terms or access may have changed."
                )
        else:
            quiet = _still_silent(session, source.name, newest)
        detail: dict[str, object] = {
            "posts_in_history": count,
            "newest": newest.isoformat() if newest else None,
        }
        judge("source_silent", source.name, quiet, detail)
    return raised, cleared


def _still_silent(session: so.Session, source: str, newest: datetime | None) -> str | None:
    """A silent source whose posts have all left the history (too few are left to judge it by) is still
    silent until it finds a post newer than the one its alert named: the alert's message, else None."""
    alert = active(session, "source_silent", source)
    if alert is None:
        return None
    named = alert.detail.get("newest")
    if newest is not None and (named is None or newest > datetime.fromisoformat(named)):
        return None  # it spoke again
    return alert.message


def record(
    session: so.Session, raised: Sequence[Alert], cleared: Sequence[tuple[str, str]], now: datetime
) -> list[int]:
    """Keep what was raised (spikes are events, silences last until cleared) and clear what is over, saying
    so (an event of its own, so the channel hears the source is back); return the new alerts' ids."""
    ids = [raise_alert(session, a, now, event=a.kind in SPIKES).id for a in raised]
    for kind, subject in cleared:
        over = active(session, kind, subject)
        if over is None or not clear(session, kind, subject, now):
            continue
        hours = (now - over.fired_at).total_seconds() / 3600
        back = Alert(
            RECOVERED,
            subject,
            f"Source {subject} is back: the {kind.replace('_', ' ')} alert raised {hours:.1f} h ago "
            "is cleared.",
            {"cleared": kind, "alert_id": over.id},
        )
        ids.append(raise_alert(session, back, now, event=True).id)
    return ids
