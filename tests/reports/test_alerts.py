"""Spike and silence alerts in simulated time: weeks of ordinary posts, then a burst about one topic, a source
that goes quiet, fails or stops, and a Slack outage while an alert is posted. Every check is given `now`."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so
import time_machine

from app.config import AppConfig
from app.pipeline import Sessions
from app.reporting import live_sources, watch_alerts
from hark.errors import TransientError
from listeners.config import XListenerConfig
from reports.alerts import WatchedSource, check_sources, check_spikes, record, robust_z
from reports.config import SilenceConfig, SpikeConfig
from store.alerts import recent_alerts
from store.health import record_failure, record_success
from store.models import AlertRow
from store.status import pipeline_status
from tests.fakes import RecordingQueue
from tests.reports.posts import post, topic_vector

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday: week n of the store starts START + n weeks
HOUR = timedelta(hours=1)
EVERY = timedelta(minutes=15)  # SpikeConfig.check_every_minutes
SPIKES = SpikeConfig()
SILENCE = SilenceConfig()
BRAKES = 5  # the burst's topic
# topic -> (its direction in embedding space, what happy or neutral posts say, what complaints say)
TOPICS = {
    "app": (
        0,
        ["The @NimbusCycles app shows my ride stats nicely", "Synced my commute with the Nimbus app"],
        ["The Nimbus app crashes whenever I open the map", "App login fails again, @NimbusHelp"],
    ),
    "delivery": (
        1,
        ["My Cirrus delivery arrived a day early", "Courier dropped off the Nimbus Halo this morning"],
        [
            "Still waiting for my delivery, the order is a week late",
            "Delivery tracking has not moved in days",
        ],
    ),
    "price": (
        2,
        ["Is the Stratus price going down for the spring sale?", "Good price for the battery pack bundle"],
        ["The price went up again, far too expensive now", "Charged twice for my order @NimbusHelp"],
    ),
    "battery": (
        3,
        ["The battery pack lasts my whole commute", "Charging the Nimbus battery overnight works fine"],
        ["Battery pack dies after ten kilometres", "The charger stopped working after a month"],
    ),
    "frame": (
        4,
        ["Love the colour of the Halo frame", "The rear rack fits the Nimbus frame perfectly"],
        ["Paint is chipping off the frame already", "The kickstand bolt came loose on the frame"],
    ),
    "brakes": (
        BRAKES,
        ["New brake pads feel great on the Stratus"],
        ["My rear brake pads are worn after two weeks"],
    ),
}
BASELINE_COMPLAINTS = ["app", "delivery", "price", "battery", "frame", "app", "delivery", "brakes"]
BURST_TEXTS = [  # each tags the brand, as complaints do: its name must not pass for the topic
    "@NimbusCycles my Nimbus brakes squeal on every single stop",
    "Rear brake pads worn out after one month, @NimbusCycles",
    "@NimbusCycles the brakes squeal so loudly people stare at me",
    "Rear brake pads worn already? Is this normal for a Nimbus Stratus @NimbusCycles",
    "Squeaky brakes again, the brake pads look worn @NimbusCycles",
]


def baseline_hour(session: so.Session, at: datetime) -> int:
    """The posts of one ordinary hour from `at`: 0-3 neutral or happy ones and now and then a complaint, each
    on a topic of its own. Deterministic: the hour's start seeds it."""
    rng = random.Random(at.isoformat())  # noqa: S311  # test data; a str seed is the same in every process
    names = sorted(TOPICS)
    specs = [(rng.choice(names), rng.choice(["neutral", "positive"])) for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.4:
        specs.append((rng.choice(BASELINE_COMPLAINTS), "negative"))
    for name, sentiment in specs:
        topic, happy, complaints = TOPICS[name]
        negative = sentiment == "negative"
        post(
            session,
            at + timedelta(seconds=rng.randrange(3600)),
            text=rng.choice(complaints if negative else happy),
            sentiment=sentiment,
            intent="complaint" if negative else rng.choice(["other", "praise", "support_question"]),
            vector=topic_vector(topic, seed=rng.randrange(2**32)),
        )
    return len(specs)


def baseline(sessions: Sessions, start: datetime, hours: int) -> int:
    with sessions.begin() as session:
        return sum(baseline_hour(session, start + i * HOUR) for i in range(hours))


def burst(sessions: Sessions, start: datetime, count: int, span: timedelta) -> None:
    """`count` complaints about the brakes, evenly spread over `span` from `start`."""
    with sessions.begin() as session:
        for i in range(count):
            post(
                session,
                start + span * (i + 0.5) / count,
                text=BURST_TEXTS[i % len(BURST_TEXTS)],
                sentiment="negative",
                intent="complaint",
                vector=topic_vector(BRAKES, seed=10_000 + i),
            )


def times(start: datetime, end: datetime, every: timedelta = EVERY) -> Iterator[datetime]:
    at = start
    while at < end:
        yield at
        at += every


def step(sessions: Sessions, cfg: AppConfig, queue: RecordingQueue, moments: Sequence[datetime]) -> int:
    """The alert job at each moment, as the runner schedules it; how many alerts it posted."""
    return sum(watch_alerts(sessions, cfg, queue, now) for now in moments)


def alerts(sessions: Sessions) -> list[AlertRow]:
    with sessions() as session:
        return list(session.scalars(sa.select(AlertRow).order_by(AlertRow.id)))


def stepping(burst_day: datetime) -> list[datetime]:
    """A week stepped as the runner would on the burst's day (every 15 minutes, 06:00-22:00) and every 3 hours
    (one window: every post is in a checked window) on the others. Each quiet step costs ~40 ms of building
    SQL, so not all 672."""
    start = burst_day - timedelta(days=burst_day.weekday())
    every_3h = times(start, start + timedelta(weeks=1), timedelta(hours=SPIKES.window_hours))
    return sorted({*every_3h, *times(burst_day + 6 * HOUR, burst_day + 22 * HOUR)})


def test_a_burst_of_brake_complaints_raises_one_alert_that_names_the_brakes(
    sessions: Sessions, app_config: AppConfig
) -> None:
    # weeks 0-6: the usual (the last of them is the quiet week); week 7: the usual plus a burst
    stored = baseline(sessions, START, 8 * 7 * 24)
    assert stored > 8 * 7 * 24  # about two an hour
    burst_day = START + timedelta(weeks=7, days=2)  # Wednesday
    burst(sessions, burst_day + 10 * HOUR, 40, 3 * HOUR)
    queue = RecordingQueue()

    assert step(sessions, app_config, queue, stepping(burst_day - timedelta(weeks=1))) == 0
    assert alerts(sessions) == []  # the same pattern, stepped the same way, is no spike
    assert queue.reports == []

    assert step(sessions, app_config, queue, stepping(burst_day)) == 1
    [alert] = alerts(sessions)  # one burst, one alert, though it ran on for hours inside the cooldown
    assert alert.kind == "spike_negative"  # (the negative check comes first; with other data, all could)
    assert burst_day + 10 * HOUR < alert.fired_at <= burst_day + 13 * HOUR
    assert alert.cleared_at == alert.fired_at  # an event: nothing to clear, never listed as active
    assert alert.posted_ref == "report-1"
    [(channel, text, files)] = queue.reports
    assert (channel, text, files) == ("#hark-alerts", alert.message, [])
    lines = alert.message.splitlines()
    assert lines[0].startswith("Negative mentions are spiking:")
    growing = [line for line in lines if line.startswith("Growing words:")]
    assert len(growing) == 1
    assert "brake" in growing[0]
    topic_lines = [line for line in lines if line.startswith("Topic:")]
    assert topic_lines
    assert "brake" in topic_lines[0]
    assert any(t.startswith("brake") for t in alert.detail["terms"])
    assert any(t.startswith("brake") for t in alert.detail["topics"][0]["terms"])
    named = {*alert.detail["terms"], *(t for topic in alert.detail["topics"] for t in topic["terms"])}
    assert not {"nimbus", "nimbuscycles"} & named  # the brand's own name names nothing
    assert alert.detail["count"] >= SPIKES.min_count
    assert alert.detail["z"] >= SPIKES.sensitivity
    assert alert.detail["baseline_windows"] == SPIKES.baseline_weeks


def test_a_second_burst_after_the_cooldown_raises_a_second_alert(
    sessions: Sessions, app_config: AppConfig
) -> None:
    day = START + timedelta(weeks=6, days=3)  # Thursday of week 6; the same Thursdays of weeks 0-5 before it
    for n in range(7):
        baseline(sessions, day - timedelta(weeks=n), 24)
    burst(sessions, day + 9 * HOUR, 30, HOUR)  # the first alert comes at 09:15 or later...
    burst(sessions, day + 11 * HOUR, 20, HOUR)  # ...so no window holding these outlasts its cooldown
    burst(sessions, day + 17 * HOUR, 30, HOUR)  # the cooldown (6 h) is over by now
    queue = RecordingQueue()

    assert step(sessions, app_config, queue, list(times(day + 6 * HOUR, day + 24 * HOUR))) == 2
    first, second = alerts(sessions)
    assert day + 9 * HOUR < first.fired_at <= day + 10 * HOUR
    assert day + 17 * HOUR < second.fired_at <= day + 18 * HOUR
    assert [text for _, text, _ in queue.reports] == [first.message, second.message]


def test_the_z_score_has_a_noise_floor() -> None:
    z, usual = robust_z(3, [0, 0, 0, 0, 0, 0])
    assert usual == 0
    assert 0 < z < SPIKES.sensitivity  # 3 posts where there were none is noise, not a spike
    assert robust_z(30, [0, 0, 0, 0, 0, 0])[0] >= SPIKES.sensitivity
    # one past burst in the baseline does not hide the next one (the median and MAD ignore it)
    z, usual = robust_z(40, [2, 3, 2, 45, 3, 2])
    assert usual == 2.5
    assert z >= SPIKES.sensitivity


def test_too_little_history_raises_no_spike(sessions: Sessions) -> None:
    day = START + timedelta(weeks=3, days=1)
    for n in range(3):  # the burst's day and the same day of two weeks before it
        baseline(sessions, day - timedelta(weeks=n), 24)
    burst(sessions, day + 10 * HOUR, 40, HOUR)
    now = day + 11 * HOUR
    with sessions() as session:
        assert check_spikes(session, SPIKES, now) == []
    baseline(sessions, day - timedelta(weeks=3), 24)  # a third week before it
    with sessions() as session:
        [spike] = check_spikes(session, SPIKES, now)
    assert spike.kind == "spike_negative"
    assert spike.detail["baseline_windows"] == 3


def steady(sessions: Sessions, source: str, start: datetime, end: datetime, every: timedelta) -> datetime:
    """One post every `every` from `start` until `end`; the newest post's time."""
    with sessions.begin() as session:
        for at in times(start, end, every):
            post(session, at, source=source, classified=False)
    return at


def test_a_source_that_stops_finding_posts_raises_once_and_clears_when_it_speaks(
    sessions: Sessions,
) -> None:
    x_live = WatchedSource("x-live", 60)
    newest = steady(sessions, "x-live", START, START + timedelta(days=14), timedelta(minutes=10))

    def check(now: datetime) -> tuple[list[str], list[tuple[str, str]]]:
        with sessions.begin() as session:
            raised, cleared = check_sources(session, SILENCE, [x_live], now)
            record(session, raised, cleared, now)
        return [f"{a.kind} {a.subject}: {a.message}" for a in raised], cleared

    assert check(newest + 3 * HOUR) == ([], [])  # quiet, but not for much longer than it can be
    quiet_at = newest + 12 * HOUR
    [silent], _ = check(quiet_at)
    assert silent.startswith("source_silent x-live: Source x-live has found no new post since")
    assert "every 10 min" in silent
    assert check(quiet_at + EVERY) == ([], [])  # still silent: no second alert
    with sessions() as session:
        listed = recent_alerts(session, quiet_at + EVERY)
        shown = pipeline_status(session, ["x-live"])["alerts"]
    assert [(a["kind"], a["subject"], a["active"]) for a in listed] == [("source_silent", "x-live", True)]
    assert [a["kind"] for a in shown] == ["source_silent"]

    spoke_at = quiet_at + 2 * HOUR
    with sessions.begin() as session:
        post(session, spoke_at, source="x-live", classified=False)
    assert check(spoke_at + EVERY) == ([], [("source_silent", "x-live")])
    row, back = alerts(sessions)
    assert row.cleared_at == spoke_at + EVERY
    assert (back.kind, back.subject, back.fired_at, back.cleared_at) == (
        "source_recovered",
        "x-live",
        spoke_at + EVERY,
        spoke_at + EVERY,
    )  # an event the channel hears, never active
    assert back.message.startswith("Source x-live is back: the source silent alert raised 2.")
    assert back.posted_ref is None  # watch_alerts posts it like any other
    with sessions() as session:
        assert [a["kind"] for a in recent_alerts(session, spoke_at)] == ["source_recovered"]
        kept = [a for a in recent_alerts(session, quiet_at - HOUR) if a["kind"] == "source_silent"]
    assert [a["active"] for a in kept] == [False]
    assert check(spoke_at + 2 * EVERY) == ([], [])


def test_a_source_with_a_post_a_day_is_silent_after_days_and_stays_so_past_its_history(
    sessions: Sessions,
) -> None:
    rare = WatchedSource("reddit-live", 60)
    newest = steady(sessions, "reddit-live", START, START + timedelta(days=28), timedelta(days=1))

    def check(now: datetime) -> tuple[list[str], list[tuple[str, str]]]:
        with sessions.begin() as session:
            raised, cleared = check_sources(session, SILENCE, [rare], now)
            record(session, raised, cleared, now)
        return [a.kind for a in raised], cleared

    assert check(newest + timedelta(days=6)) == ([], [])  # a quiet week is not unusual for it
    assert check(newest + timedelta(days=9)) == (["source_silent"], [])  # 8 of its usual gaps and more
    for days in (13, 15, 30):  # its last post leaves the history: it is still silent, and said so once
        assert check(newest + timedelta(days=days)) == ([], [])
    with sessions() as session:
        [silent] = recent_alerts(session, newest + timedelta(days=30))
    assert (silent["kind"], silent["active"]) == ("source_silent", True)

    spoke_at = newest + timedelta(days=31)
    with sessions.begin() as session:
        post(session, spoke_at, source="reddit-live", classified=False)
    assert check(spoke_at + HOUR) == ([], [("source_silent", "reddit-live")])


def test_a_failing_source_and_a_stopped_one_raise_alerts(sessions: Sessions) -> None:
    x_live, reddit_live = WatchedSource("x-live", 60), WatchedSource("reddit-live", 60)
    t0 = START + timedelta(days=3)
    with time_machine.travel(t0, tick=False), sessions.begin() as session:
        record_success(session, "x-live", 5)
        record_success(session, "reddit-live", 5)
    with time_machine.travel(t0 + timedelta(minutes=1), tick=False), sessions.begin() as session:
        record_failure(session, "x-live", "503 Service Unavailable", stopped=False)
        record_failure(session, "reddit-live", "401 Unauthorized: check REDDIT_CLIENT_ID", stopped=True)

    def check(now: datetime) -> tuple[dict[tuple[str, str], str], list[tuple[str, str]]]:
        with sessions.begin() as session:
            raised, cleared = check_sources(session, SILENCE, [x_live, reddit_live], now)
            record(session, raised, cleared, now)
        return {(a.kind, a.subject): a.message for a in raised}, cleared

    raised, _ = check(t0 + timedelta(minutes=2))  # one failed poll of x-live is not an outage yet
    assert list(raised) == [("source_failing", "reddit-live")]
    assert "reddit-live is stopped and needs a person" in raised["source_failing", "reddit-live"]
    assert "REDDIT_CLIENT_ID" in raised["source_failing", "reddit-live"]

    for minute in range(2, 8):  # x-live keeps failing: no successful poll for 4 intervals and more
        with time_machine.travel(t0 + timedelta(minutes=minute), tick=False), sessions.begin() as session:
            record_failure(session, "x-live", "503 Service Unavailable", stopped=False)
    raised, _ = check(t0 + HOUR)
    assert list(raised) == [("source_failing", "x-live")]
    message = raised["source_failing", "x-live"]
    assert f"x-live has not polled successfully since {t0.isoformat()}" in message
    assert "503 Service Unavailable" in message
    assert check(t0 + HOUR + EVERY) == ({}, [])  # each raised once

    with time_machine.travel(t0 + 2 * HOUR, tick=False), sessions.begin() as session:
        record_success(session, "x-live", 3)
    assert check(t0 + 2 * HOUR + EVERY) == ({}, [("source_failing", "x-live")])
    with sessions() as session:
        active = [(a["kind"], a["subject"]) for a in recent_alerts(session, t0 + 3 * HOUR) if a["active"]]
    assert active == [("source_failing", "reddit-live")]


def test_a_replay_source_is_never_checked(sessions: Sessions, app_config: AppConfig) -> None:
    assert {s.type for s in app_config.sources} == {"replay"}
    assert live_sources(app_config) == []
    newest = steady(sessions, "x-sample", START, START + timedelta(days=14), timedelta(minutes=30))
    with time_machine.travel(newest, tick=False), sessions.begin() as session:
        record_failure(session, "reddit-sample", "the sample file is gone", stopped=True)
    now = newest + timedelta(days=1)
    queue = RecordingQueue()
    assert watch_alerts(sessions, app_config, queue, now) == 0
    assert alerts(sessions) == []
    assert queue.reports == []
    with sessions() as session:  # watched as a live source, the same store would raise both
        raised, _ = check_sources(
            session, SILENCE, [WatchedSource("x-sample", 30), WatchedSource("reddit-sample", 30)], now
        )
    assert sorted((a.kind, a.subject) for a in raised) == [
        ("source_failing", "reddit-sample"),
        ("source_silent", "x-sample"),
    ]


class SlackDownOnce(RecordingQueue):
    """Slack refuses the first report (an outage, a 5xx), then takes them."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    def post_report(self, channel: str, text: str, files: Sequence[Path]) -> str:
        if not self.refused:
            self.refused += 1
            raise TransientError("slack: 503 service unavailable")
        return super().post_report(channel, text, files)


def test_an_alert_refused_by_slack_is_posted_at_the_next_pass_once(
    sessions: Sessions, app_config: AppConfig
) -> None:
    live = (
        XListenerConfig(type="x", name="x-live", query="nimbus"),
        XListenerConfig(type="x", name="x-mentions", mode="mentions", user_id="1500000000000000001"),
    )
    cfg = app_config.model_copy(update={"sources": live})
    assert [s.name for s in live_sources(cfg)] == ["x-live", "x-mentions"]
    t0 = START + timedelta(days=10)
    with time_machine.travel(t0, tick=False), sessions.begin() as session:
        for source in ("x-live", "x-mentions"):
            record_failure(session, source, "401 Unauthorized: check X_BEARER_TOKEN", stopped=True)
    queue = SlackDownOnce()

    assert watch_alerts(sessions, cfg, queue, t0 + EVERY) == 0  # raised both, posted neither
    assert queue.refused == 1
    assert queue.reports == []
    assert [(a.kind, a.subject, a.posted_ref) for a in alerts(sessions)] == [
        ("source_failing", "x-live", None),
        ("source_failing", "x-mentions", None),
    ]
    assert watch_alerts(sessions, cfg, queue, t0 + 2 * EVERY) == 2  # both, raised no second time
    assert watch_alerts(sessions, cfg, queue, t0 + 3 * EVERY) == 0
    stored = alerts(sessions)
    assert [text for _, text, _ in queue.reports] == [a.message for a in stored]
    assert [a.posted_ref for a in stored] == ["report-1", "report-2"]
    assert all(channel == "#hark-alerts" for channel, _, _ in queue.reports)
