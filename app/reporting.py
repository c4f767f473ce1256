"""The weekly report and the alerts put together: the store's figures, files on disk, the team's Slack."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.config import AppConfig
from app.pipeline import Sessions
from hark.errors import TransientError
from reports.alerts import WatchedSource, check_sources, check_spikes, record
from reports.output import ReportFiles, summary, write_report
from reports.weekly import ReportInputs, WeeklyReport, build_weekly
from reports.weeks import IsoWeek
from responders.base import QueueResponder
from store.alerts import mark_posted, unposted
from store.customers import vip_clause
from store.report_queries import tune_for_reports
from store.report_runs import claim_week, record_built, record_posted
from store.sla import SlaClock

log = logging.getLogger(__name__)
ALERTS_PER_PASS = 20


def brand_words(cfg: AppConfig) -> frozenset[str]:
    """The brand's own names and handles: every post says them, so they name no topic."""
    names = [
        cfg.brand.name,
        *cfg.brand.terms,
        *(h for accounts in cfg.brand.accounts.values() for h in accounts),
    ]
    return frozenset(w.lower() for name in names for w in name.replace("@", " ").split())


def report_inputs(cfg: AppConfig, week: IsoWeek, now: datetime) -> ReportInputs:
    return ReportInputs(
        week=week,
        zone=cfg.brand.zone,
        cfg=cfg.reports,
        clock=SlaClock(cfg.sla.business_hours),
        vip=vip_clause(cfg.customers.vip_tiers, cfg.customers.vip_min_lifetime_value),
        brand_words=brand_words(cfg),
        now=now,
    )


@dataclass(frozen=True)
class BuiltReport:
    report: WeeklyReport
    files: ReportFiles


def build_report(
    sessions: Sessions,
    cfg: AppConfig,
    week: IsoWeek,
    out_dir: Path | None = None,
    now: datetime | None = None,
) -> BuiltReport:
    """Figures from one read-only snapshot of the store, then the files; the week is recorded as built."""
    now = now or datetime.now(UTC)
    with sessions.begin() as session:  # a transaction, so SET LOCAL holds for every query of the report
        tune_for_reports(session)
        report = build_weekly(session, report_inputs(cfg, week, now))
    files = write_report(report, cfg.brand.name, out_dir or cfg.reports.out_dir)
    with sessions.begin() as session:
        record_built(session, str(week), str(files.folder), now)
    log.info(
        "report_built week=%s folder=%s mentions=%d", week, files.folder, report.figures["volume"]["total"]
    )
    return BuiltReport(report, files)


def post_report(sessions: Sessions, cfg: AppConfig, queue: QueueResponder, built: BuiltReport) -> str:
    """The summary and the charts in the report channel; recorded so the schedule does not post it again."""
    ref = queue.post_report(
        cfg.reports.channel, summary(cfg.brand.name, built.report.figures), built.files.charts
    )
    with sessions.begin() as session:
        record_posted(session, built.report.figures["week"], ref, datetime.now(UTC))
    return ref


def scheduled_report(
    sessions: Sessions, cfg: AppConfig, queue: QueueResponder, now: datetime | None = None
) -> bool:
    """The cron job: last complete week's report, built and posted once whichever scheduler gets here first.
    False when it was done already (or another node is at it)."""
    now = now or datetime.now(UTC)
    week = IsoWeek.last_complete(now, cfg.brand.zone)
    with sessions.begin() as session:
        if not claim_week(session, str(week), now):
            return False
    post_report(sessions, cfg, queue, build_report(sessions, cfg, week, now=now))
    return True


def live_sources(cfg: AppConfig) -> list[WatchedSource]:
    """Sources that talk to a platform: a replay of a sample file is never silent, only finished."""
    return [WatchedSource(s.name, s.interval_s) for s in cfg.sources if s.type != "replay"]


def watch_alerts(
    sessions: Sessions, cfg: AppConfig, queue: QueueResponder, now: datetime | None = None
) -> int:
    """Raise the spike and silence alerts owed now, then post every alert not posted yet; return how many
    were posted. One that Slack refuses now is posted at the next pass."""
    now = now or datetime.now(UTC)
    with sessions.begin() as session:
        spikes = check_spikes(session, cfg.reports.spikes, now, brand_words(cfg))
        raised, cleared = check_sources(session, cfg.reports.silence, live_sources(cfg), now)
        record(session, [*spikes, *raised], cleared, now)
        for alert in [*spikes, *raised]:
            log.warning("alert_raised kind=%s subject=%s", alert.kind, alert.subject)
    posted = 0
    with sessions() as session:
        pending = [(row.id, row.message) for row in unposted(session, ALERTS_PER_PASS)]
    for alert_id, message in pending:
        try:
            ref = queue.post_report(cfg.reports.alerts_channel, message, [])
        except TransientError as err:
            log.warning("alert_not_posted id=%d error=%s", alert_id, err)
            break
        with sessions.begin() as session:
            mark_posted(session, alert_id, ref)
        posted += 1
    return posted
