"""report.json against figures counted by hand from the posts' own list, on a week with a DST change."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.config import AppConfig
from app.pipeline import Sessions
from app.reporting import build_report
from reports.weeks import IsoWeek
from store.labels import record_correction
from store.models import CaseRow, ClassificationRow, LeadRow
from store.privacy import forget_customer
from tests.reports.posts import customer, post

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = IsoWeek(2026, 43)  # Monday 19 October; clocks go back on Sunday 25 October, 03:00 CEST -> 02:00 CET
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Spec:
    local: str  # "2026-10-19 00:30", Berlin time
    platform: str = "x"
    sentiment: str = "neutral"
    intent: str = "other"
    relevant: bool = True
    classified: bool = True
    corrected_to: str | None = None  # a person's sentiment
    relabelled: str | None = None  # a newer model's sentiment
    forgotten: bool = False
    vip: bool = False

    @property
    def at(self) -> datetime:
        return datetime.fromisoformat(self.local).replace(tzinfo=BERLIN).astimezone(UTC)

    @property
    def sentiment_now(self) -> str:
        return self.corrected_to or self.relabelled or self.sentiment


SPECS = [
    # the week's edges on the local clock: UTC says Sunday, Berlin says Monday (and the other way round)
    Spec("2026-10-18 23:30", sentiment="positive"),  # W42: 21:30 UTC Sunday
    Spec("2026-10-19 00:30", sentiment="negative", intent="complaint"),  # W43: 22:30 UTC the Sunday before
    Spec("2026-10-19 12:00", platform="reddit", sentiment="positive", intent="praise"),
    Spec("2026-10-20 09:00", sentiment="positive", intent="praise", corrected_to="negative"),
    Spec("2026-10-20 10:00", sentiment="negative", intent="complaint", relabelled="neutral"),
    Spec("2026-10-21 08:00", sentiment="negative", intent="support_question", forgotten=True),
    Spec("2026-10-21 18:00", sentiment="positive", intent="spam"),  # relevant spam: no sentiment share
    Spec("2026-10-22 07:00", sentiment="negative", intent="other", relevant=False),  # noise
    Spec("2026-10-22 20:00", platform="reddit", sentiment="negative", intent="complaint", vip=True),
    Spec("2026-10-23 11:00", classified=False),  # not classified yet: volume only
    # Sunday 25 October has 25 hours: 02:30 happens twice (CEST, then CET); both are that Sunday
    Spec("2026-10-25 02:30", sentiment="positive", intent="praise"),
    Spec("2026-10-25 23:30", platform="reddit", sentiment="neutral", intent="feature_request"),  # 22:30 UTC
    Spec("2026-10-26 00:30", sentiment="negative", intent="complaint"),  # W44: 23:30 UTC that Sunday
    # last week (W42) and an earlier one; W40 and W41 are empty
    Spec("2026-10-13 12:00", sentiment="positive", intent="praise"),
    Spec("2026-10-14 12:00", platform="reddit", sentiment="negative", intent="complaint"),
    Spec("2026-09-22 12:00", sentiment="negative", intent="complaint"),  # W39
]


def _store(sessions: Sessions) -> None:
    with sessions.begin() as session:
        vip = customer(session, "Vera VIP", tier="VIP").id
        for spec in SPECS:
            owner = customer(session, "Fiona Forgotten").id if spec.forgotten else (vip if spec.vip else None)
            row = post(
                session,
                spec.at,
                text=f"post at {spec.local}",
                platform=spec.platform,
                sentiment=spec.sentiment,
                intent=spec.intent,
                relevant=spec.relevant,
                classified=spec.classified,
                customer_id=owner,
            )
            if spec.relabelled:
                session.add(
                    ClassificationRow(
                        mention_id=row.id,
                        model_version="newer-model",
                        language="en",
                        relevant=spec.relevant,
                        sentiment=spec.relabelled,
                        sentiment_score=0.8,
                        intent=spec.intent,
                        intent_scores={spec.intent: 0.8},
                        needs_reply=False,
                        priority=10,
                        created_at=spec.at + timedelta(days=1),
                    )
                )
            if spec.corrected_to:
                record_correction(session, row.id, "sentiment", spec.corrected_to, "cli:test")
            if spec.forgotten:
                session.add(
                    LeadRow(
                        customer_id=owner,
                        mention_id=row.id,
                        score=0.7,
                        product_interest="Halo",
                        created_at=spec.at,
                        updated_at=spec.at,
                    )
                )
                session.flush()
                assert owner is not None
                forget_customer(session, owner, actor="cli:test")
        _cases(session)


# (opened, minutes to the first response or None, minutes allowed, priority)
CASES = [
    ("2026-10-20 10:00", 30, 60, 10),
    ("2026-10-21 10:00", 120, 60, 10),
    ("2026-10-22 10:00", None, 60, 50),  # never answered, due long ago
    ("2026-10-23 10:00", 45, 240, 80),
    ("2026-10-12 10:00", 10, 60, 10),  # last week's
]


def _cases(session: Any) -> None:
    for n, (opened, answered, allowed, priority) in enumerate(CASES):
        at = datetime.fromisoformat(opened).replace(tzinfo=BERLIN).astimezone(UTC)
        session.add(
            CaseRow(
                platform="x",
                conversation_id=f"c{n}",
                status="new",
                priority=priority,
                opened_at=at,
                updated_at=at,
                sla_due_at=at + timedelta(minutes=allowed),
                first_response_at=at + timedelta(minutes=answered) if answered is not None else None,
            )
        )


def _week_of(spec: Spec) -> IsoWeek:
    return IsoWeek.of(spec.at.astimezone(BERLIN).date())


def _expected_sentiment(specs: list[Spec]) -> dict[str, Any]:
    counted = [s for s in specs if s.classified and s.relevant and s.intent != "spam"]
    mix = Counter(s.sentiment_now for s in counted)
    return {
        "positive": mix["positive"],
        "neutral": mix["neutral"],
        "negative": mix["negative"],
        "counted": len(counted),
        "net": round((mix["positive"] - mix["negative"]) / len(counted), 4) if counted else None,
    }


@pytest.fixture
def figures(sessions: Sessions, app_config: AppConfig, tmp_path: Path) -> dict[str, Any]:
    _store(sessions)
    built = build_report(sessions, app_config, WEEK, tmp_path, now=NOW)
    loaded: dict[str, Any] = json.loads(built.files.json.read_text(encoding="utf-8"))
    return loaded


def test_volume_by_local_day_and_platform(figures: dict[str, Any]) -> None:
    this = [s for s in SPECS if _week_of(s) == WEEK]
    assert figures["week"] == "2026-W43"
    assert figures["volume"]["total"] == len(this) == 11
    assert figures["volume"]["by_platform"] == dict(sorted(Counter(s.platform for s in this).items()))
    days = {d["date"]: d for d in figures["volume"]["by_day"]}
    assert list(days) == [(date(2026, 10, 19) + timedelta(days=i)).isoformat() for i in range(7)]
    for day, entry in days.items():
        on_day = [s for s in this if s.at.astimezone(BERLIN).date().isoformat() == day]
        assert entry["total"] == len(on_day), day
        assert entry["relevant"] == sum(1 for s in on_day if s.classified and s.relevant), day
        assert entry["by_platform"] == dict(sorted(Counter(s.platform for s in on_day).items())), day
    assert days["2026-10-25"]["total"] == 2  # the 25-hour Sunday, and nothing of Monday 26th
    assert figures["volume"]["unclassified"] == 1
    assert figures["volume"]["last_week_total"] == sum(1 for s in SPECS if _week_of(s) == WEEK.shifted(-1))


def test_sentiment_with_corrections_newer_models_and_forgotten_people(figures: dict[str, Any]) -> None:
    this = [s for s in SPECS if _week_of(s) == WEEK]
    expected = _expected_sentiment(this)
    got = figures["sentiment"]["this_week"]
    assert {k: got[k] for k in expected} == expected
    # the correction made a praise negative, the newer model made a complaint neutral, the forgotten
    # author's negative still counts: positive 2, neutral 2, negative 4 of 8
    assert (got["positive"], got["neutral"], got["negative"], got["counted"]) == (2, 2, 4, 8)
    assert got["net"] == -0.25
    last = figures["sentiment"]["last_week"]
    assert (last["positive"], last["negative"], last["net"]) == (2, 1, round(1 / 3, 4))


def test_twelve_week_trend_keeps_empty_weeks(figures: dict[str, Any]) -> None:
    trend = {w["week"]: w for w in figures["sentiment"]["trend"]}
    assert list(trend) == [str(WEEK.shifted(-i)) for i in reversed(range(12))]
    for week, entry in trend.items():
        specs = [s for s in SPECS if str(_week_of(s)) == week]
        assert entry["mentions"] == len(specs), week
        assert entry["net"] == _expected_sentiment(specs)["net"], week
    assert trend["2026-W41"]["mentions"] == 0
    assert trend["2026-W41"]["net"] is None
    assert trend["2026-W39"]["negative"] == 1


def test_intents_count_relevant_posts_including_spam(figures: dict[str, Any]) -> None:
    this = [s for s in SPECS if _week_of(s) == WEEK and s.classified and s.relevant]
    expected = Counter(s.intent for s in this)
    assert {k: v for k, v in figures["intents"]["this_week"].items() if v} == dict(expected)
    assert figures["intents"]["this_week"]["spam"] == 1


def test_response_times_against_the_sla(figures: dict[str, Any]) -> None:
    response = figures["response"]["overall"]
    # this week's four cases: answered in 30, 120 and 45 minutes, one never; met 30<=60 and 45<=240
    assert response["cases"] == 4
    assert response["answered"] == 3
    assert response["unanswered"] == 1
    assert response["median_first_response_minutes"] == 45.0
    assert response["p90_first_response_minutes"] == 120.0  # nearest rank: the 3rd of 3
    assert (response["within_target"], response["with_target"]) == (2, 4)
    assert response["within_target_share"] == 0.5
    by_priority = figures["response"]["by_priority"]
    assert by_priority["high"]["cases"] == 1
    assert by_priority["high"]["within_target_share"] == 1.0
    assert by_priority["medium"]["unanswered"] == 1
    assert by_priority["low"]["median_first_response_minutes"] == 75.0  # 30 and 120


def test_leads_vip_and_the_forgotten_stay_anonymous(figures: dict[str, Any], sessions: Sessions) -> None:
    assert figures["leads"]["count"] == 1
    assert figures["leads"]["by_product"] == {"Halo": 1}
    top = figures["leads"]["top"][0]
    assert top["customer"] == "a forgotten customer"
    assert "2026-10-21" not in top["text"]  # its words are gone
    assert figures["vip"]["mentions"] == 1
    assert figures["vip"]["by_sentiment"] == {"negative": 1}
    texts = json.dumps(figures)
    assert "Fiona" not in texts
    assert "post at 2026-10-21 08:00" not in texts
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LeadRow)) == 1


def test_most_negative_puts_a_persons_label_first(figures: dict[str, Any]) -> None:
    negative = figures["most_negative"]
    assert negative[0]["text"] == "post at 2026-10-20 09:00"  # corrected to negative: certain
    assert {p["sentiment"] for p in negative} == {"negative"}
    assert "post at 2026-10-22 07:00" not in [p["text"] for p in negative]  # irrelevant


def test_changes_name_what_moved(figures: dict[str, Any]) -> None:
    changes = {c["what"]: c for c in figures["changes"]}
    assert changes["mentions"]["this_week"] == 11
    assert changes["mentions"]["last_week"] == 3
    assert changes["mentions"]["change"] == round((11 - 3) / 3, 4)
