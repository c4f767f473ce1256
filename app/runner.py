"""Runners: one pass over every stage (`hark run --once`), or APScheduler jobs on intervals."""

from __future__ import annotations

import logging
import random
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from app.config import AppConfig
from app.delivery import deliver_pending, recover_interrupted_replies
from app.pipeline import (
    Sessions,
    classify_pending,
    link_pending,
    poll_once,
    post_held_cards,
    refresh_cards,
    route_pending,
    surface_failed_replies,
    watch_slas,
)
from app.reporting import scheduled_report, watch_alerts
from app.runtime import Runtime
from classifiers.base import MENTIONS_PER_CALL
from hark.brand import OwnAccounts
from hark.errors import AuthError, PermanentError, TransientError
from listeners.base import Listener
from responders.base import QueueResponder
from store.health import record_failure

log = logging.getLogger(__name__)

MAX_PAGES_PER_POLL = 1000  # a guard against a listener that always says "more"
BATCH = 256
ONCE_MAX_WAIT_S = 16 * 60.0  # `run --once` waits out a whole X rate-limit window (15 min)
ONCE_MAX_FAILURES = 6  # ...and about 2.5 min of transient failures (5+10+20+40+80 s) before giving up


def backoff(failures: int, retry_after_s: float | None) -> timedelta:
    """Doubles from 5 s up to 15 min with jitter, and never waits less than the server asked."""
    base = min(900.0, 5.0 * 2 ** max(0, failures - 1))
    wait = base * random.uniform(0.8, 1.2)  # noqa: S311  # jitter, not cryptography
    return timedelta(seconds=max(wait, retry_after_s or 0.0))


@dataclass
class ListenerJob:
    """Polls one listener, backs off on transient errors, and stops for good on auth or permanent ones.

    It never asks a source before `not_before`: the end of a backoff, or the pacing that the
    platform's rate-limit headers call for. A pause of up to `max_wait_s` happens inside the call
    (through `wait`, interruptible by `stop`); a longer one ends the call and a later call resumes.
    """

    listener: Listener
    sessions: Sessions
    own: OwnAccounts
    stop: threading.Event = field(default_factory=threading.Event)
    stopped: bool = False
    failures: int = 0
    not_before: datetime | None = None
    max_wait_s: float = 0.0  # longest pause inside one call
    max_failures: int = 1  # transient failures in a row tolerated before a call returns
    wait: Callable[[float], bool] | None = None  # pauses; True means stop. Default: stop.wait

    @property
    def name(self) -> str:
        return self.listener.name

    def __call__(self) -> int:
        """Poll until the source has nothing more right now; return how many new mentions were stored."""
        if self.stopped:
            return 0
        new, polled = 0, False
        for _ in range(MAX_PAGES_PER_POLL):
            if not self._may_poll():
                break
            polled = True
            try:
                result = poll_once(self.listener, self.sessions, self.own)
            except TransientError as err:
                self.failures += 1
                if self.failures == 1:  # log the first failure only; repeats are noise
                    log.warning("listener_failing listener=%s error=%s", self.name, err)
                self.not_before = datetime.now(UTC) + backoff(self.failures, err.retry_after_s)
                self._record(str(err), stopped=False)
                if self.failures >= self.max_failures:  # a streak: each success resets it
                    return new
                continue
            except (AuthError, PermanentError) as err:
                self.stopped = True  # retrying cannot help: a person must fix the token or the query
                log.error("listener_stopped listener=%s error=%s", self.name, err)
                self._record(str(err), stopped=True)
                return new
            new += len(result.new_ids)
            if self.failures:
                log.info("listener_recovered listener=%s failures=%d", self.name, self.failures)
            self.failures, self.not_before = 0, result.not_before
            if not result.more or self.stop.is_set():
                break
        if polled:
            log.info("poll_done listener=%s new=%d", self.name, new)
        return new

    def _may_poll(self) -> bool:
        """True once `not_before` has passed, pausing up to `max_wait_s` for it; False to end the call."""
        if self.stop.is_set():
            return False
        if self.not_before is None:
            return True
        wait_s = (self.not_before - datetime.now(UTC)).total_seconds()
        if wait_s <= 0:
            return True
        if wait_s > self.max_wait_s:
            return False
        if self.failures == 0:
            log.info("listener_pacing listener=%s wait_s=%.1f", self.name, wait_s)
        return not (self.wait or self.stop.wait)(wait_s)

    def _record(self, error: str, *, stopped: bool) -> None:
        with self.sessions.begin() as session:
            record_failure(session, self.name, error, stopped=stopped, next_poll_at=self.not_before)


def guarded(name: str, func: Callable[[], object]) -> Callable[[], None]:
    """Hark's one broad catch: a failing job is logged and the other jobs keep running."""

    def job() -> None:
        try:
            func()
        except Exception:  # the scheduler must survive any one job's failure
            log.exception("job_failed job=%s", name)

    job.__name__ = name
    return job


def drain(name: str, step: Callable[[], int], stop: threading.Event) -> int:
    """Run a stage step until it finds no more work; log progress after each batch."""
    total = 0
    while not stop.is_set():
        done = step()
        if not done:
            break
        total += done
        log.info("%s_progress done=%d", name, total)
    return total


@dataclass
class Stages:
    """The stage steps of one runtime, each taking one batch."""

    runtime: Runtime
    stop: threading.Event

    def classify(self) -> int:
        return classify_pending(self.runtime.db.sessions, self.runtime.classifier, MENTIONS_PER_CALL)

    def link(self) -> int:
        return link_pending(self.runtime.db.sessions, self.runtime.config, BATCH)

    def route(self) -> int:
        return route_pending(self.runtime.db.sessions, self.runtime.routing, BATCH)

    def deliver(self) -> int:
        replies = self.runtime.config.responders.replies
        return deliver_pending(self.runtime.db.sessions, self.runtime.repliers, replies.kill_switch, BATCH)

    def surface(self) -> int:
        return surface_failed_replies(self.runtime.db.sessions, self.runtime.routing, BATCH)

    def cards(self) -> int:
        return refresh_cards(self.runtime.db.sessions, self.runtime.routing.queue, BATCH)

    def held(self) -> int:
        return post_held_cards(self.runtime.db.sessions, self.runtime.routing, BATCH)

    def slas(self) -> int:
        return watch_slas(self.runtime.db.sessions, self.runtime.routing.queue, self.runtime.config.sla)

    def all_after_poll(self) -> dict[str, int]:
        return {
            "classified": drain("classify", self.classify, self.stop),
            "linked": drain("link", self.link, self.stop),
            "routed": drain("route", self.route, self.stop),
            "delivered": drain("deliver", self.deliver, self.stop),
            "failures_shown": drain("surface", self.surface, self.stop),
            "cards_updated": drain("cards", self.cards, self.stop),
            "held_cards_posted": self.held(),  # what the burst window allows now; the rest at later runs
            "sla_alerts": self.slas(),  # one pass: what is owed now
        }


def listener_jobs(runtime: Runtime, stop: threading.Event, *, once: bool = False) -> list[ListenerJob]:
    """`once` jobs wait out rate limits and retry transient errors until their source is drained."""
    return [
        ListenerJob(
            listener,
            runtime.db.sessions,
            runtime.routing.own,
            stop,
            max_wait_s=ONCE_MAX_WAIT_S if once else float(listener.interval_s),
            max_failures=ONCE_MAX_FAILURES if once else 1,
        )
        for listener in runtime.listeners
    ]


def run_once(runtime: Runtime, stop: threading.Event | None = None) -> dict[str, int]:
    """One full pass: poll every source until it is drained, then every later stage until it is."""
    stop = stop or threading.Event()
    recover_interrupted_replies(runtime.db.sessions, runtime.repliers)
    jobs = listener_jobs(runtime, stop, once=True)
    fetched = sum(job() for job in jobs)
    counts = {"new_mentions": fetched, **Stages(runtime, stop).all_after_poll()}
    counts["sources_failing"] = sum(1 for job in jobs if job.failures or job.stopped)
    return counts


REPORT_GRACE_S = 6 * 3600  # a scheduler that was down at the report's time still builds it this much later


def add_report_jobs(
    scheduler: BaseScheduler, cfg: AppConfig, sessions: Sessions, queue: QueueResponder, now: datetime
) -> None:
    """The weekly report on its cron in the brand's time zone, and once at startup (it posts the last
    complete week's report only if nobody has: a scheduler down at the slot still delivers it), and the
    alert watch."""
    report = guarded("report", partial(scheduled_report, sessions, cfg, queue))
    trigger = CronTrigger(
        day_of_week=cfg.reports.weekday,
        hour=cfg.reports.at.hour,
        minute=cfg.reports.at.minute,
        timezone=cfg.brand.zone,
    )
    scheduler.add_job(report, trigger, id="report:weekly", misfire_grace_time=REPORT_GRACE_S)
    scheduler.add_job(report, "date", run_date=now + timedelta(seconds=30), id="report:catch-up")
    scheduler.add_job(
        guarded("alerts", partial(watch_alerts, sessions, cfg, queue)),
        "interval",
        minutes=cfg.reports.spikes.check_every_minutes,
        id="alerts",
        next_run_time=now + timedelta(seconds=20),
    )


def run_forever(runtime: Runtime) -> None:
    """APScheduler threads; SIGTERM or SIGINT lets running jobs finish their batch, then returns."""
    stop = threading.Event()
    recover_interrupted_replies(runtime.db.sessions, runtime.repliers)
    stages = Stages(runtime, stop)
    scheduler = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=8)},
        job_defaults={"max_instances": 1, "coalesce": True},  # polls never overlap
        timezone="UTC",
    )
    now = datetime.now(UTC)
    for job in listener_jobs(runtime, stop):
        scheduler.add_job(
            guarded(f"poll:{job.name}", job),
            "interval",
            seconds=job.listener.interval_s,
            id=f"poll:{job.name}",
            next_run_time=now,
        )
    intervals = runtime.config.scheduler
    steps: tuple[tuple[str, Callable[[], int], int], ...] = (
        ("classify", stages.classify, intervals.classify_interval_s),  # the model's only user
        ("link", stages.link, intervals.link_interval_s),
        ("route", stages.route, intervals.route_interval_s),
        ("deliver", stages.deliver, intervals.deliver_interval_s),
        ("surface", stages.surface, intervals.deliver_interval_s),  # failed replies, shown to the team
        ("cards", stages.cards, intervals.deliver_interval_s),  # cards show what changed since posted
        ("held", stages.held, intervals.route_interval_s),  # a digest's cards, as the burst drains
    )
    scheduler.add_job(guarded("slas", stages.slas), "interval", seconds=60, id="slas", next_run_time=now)
    add_report_jobs(scheduler, runtime.config, runtime.db.sessions, runtime.routing.queue, now)
    for name, step, every in steps:
        scheduler.add_job(
            guarded(name, partial(drain, name, step, stop)),
            "interval",
            seconds=every,
            id=name,
            next_run_time=now + timedelta(seconds=2),
        )

    def shut_down(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():  # a second signal (a process group's, say): shutting down already
            return
        log.info("shutdown_requested signal=%s", signal.Signals(signum).name)
        stop.set()  # running jobs end after their current batch
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    if runtime.slack_app is not None:
        runtime.slack_app.start()
    log.info("scheduler_started sources=%d", len(runtime.listeners))
    try:
        scheduler.start()  # blocks until shut_down; the pool's threads are joined before the process exits
    finally:
        if runtime.slack_app is not None:
            runtime.slack_app.stop()
