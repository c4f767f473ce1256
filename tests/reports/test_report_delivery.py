"""The weekly report as people get it: `hark report weekly`, the Monday cron in the brand's time zone, and the
summary with its charts in Slack (the real WebClient against the fake Slack's three-step upload), once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from apscheduler.schedulers.background import BackgroundScheduler
from pytest_httpserver import HTTPServer
from slack_sdk import WebClient
from typer.testing import CliRunner

from app.config import AppConfig
from app.pipeline import Sessions
from app.reporting import scheduled_report
from app.runner import add_report_jobs
from main import cli
from responders.config import QueueConfig
from responders.slack import SlackQueueResponder
from store.models import ReportRow
from tests.conftest import REPO
from tests.fakes import RecordingQueue
from tests.reports.posts import post, topic_vector
from tests.slack_peer import FakeSlack

# Monday 30 November 2026, 00:30 in Berlin, still Sunday in UTC: the last complete week is W48 in Berlin
JUST_AFTER_MIDNIGHT = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)


def _week_of_posts(sessions: Sessions) -> None:
    start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # W48
    with sessions.begin() as session:
        for i in range(30):
            at = start + timedelta(hours=5 * i)
            complaint = i % 3 == 0
            post(
                session,
                at,
                text="my rear brake squeals again" if complaint else "love the new Halo",
                sentiment="negative" if complaint else "positive",
                intent="complaint" if complaint else "praise",
                vector=topic_vector(1) if complaint else None,
            )


@pytest.fixture
def runner(db_url: str, tmp_path: Path) -> CliRunner:
    return CliRunner(env={"HARK_DATABASE_URL": db_url, "HARK_CONFIG": str(REPO / "config.yaml")})


def test_cli_writes_the_files_and_prints_every_figure(
    runner: CliRunner, sessions: Sessions, tmp_path: Path
) -> None:
    _week_of_posts(sessions)
    result = runner.invoke(cli, ["report", "weekly", "--week", "2026-W48", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    printed: dict[str, Any] = json.loads(result.stdout)
    folder = tmp_path / "2026-W48"
    assert printed["files"]["html"] == str(folder / "report.html")
    assert sorted(Path(p).name for p in printed["files"]["charts"]) == [
        "intents.png",
        "sentiment.png",
        "topics.png",
        "volume.png",
    ]
    assert all(Path(p).read_bytes().startswith(b"\x89PNG") for p in printed["files"]["charts"])
    on_disk = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert printed["report"] == on_disk
    assert on_disk["volume"]["total"] == 30
    assert on_disk["sentiment"]["this_week"]["negative"] == 10
    assert printed["posted"] is None  # only --post sends it to Slack
    with sessions() as session:
        row = session.get(ReportRow, "2026-W48")
        assert row is not None
        assert row.folder == str(folder)
        assert row.posted_at is None


@pytest.mark.parametrize("week", ["2026-W54", "2026-47", "last week"])
def test_a_bad_week_is_a_usage_error(runner: CliRunner, tmp_path: Path, week: str) -> None:
    result = runner.invoke(cli, ["report", "weekly", "--week", week, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "error:" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_without_a_week_it_reports_the_last_complete_week_on_the_brands_clock(
    runner: CliRunner, sessions: Sessions, tmp_path: Path
) -> None:
    _week_of_posts(sessions)
    with time_machine.travel(JUST_AFTER_MIDNIGHT, tick=False):
        result = runner.invoke(cli, ["report", "weekly", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["report"]["week"] == "2026-W48"  # UTC would still say W47


def test_the_cron_fires_on_monday_at_nine_in_the_brands_time_zone(
    app_config: AppConfig, sessions: Sessions
) -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    add_report_jobs(scheduler, app_config, sessions, RecordingQueue(), JUST_AFTER_MIDNIGHT)
    trigger = scheduler.get_job("report:weekly").trigger
    fire = trigger.get_next_fire_time(None, JUST_AFTER_MIDNIGHT)
    assert fire.astimezone(app_config.brand.zone).isoformat() == "2026-11-30T09:00:00+01:00"
    summer = trigger.get_next_fire_time(None, datetime(2026, 7, 1, tzinfo=UTC))
    assert summer.astimezone(UTC).isoformat() == "2026-07-06T07:00:00+00:00"  # 09:00 CEST
    assert scheduler.get_job("report:catch-up") is not None  # a restart after the slot still delivers


def test_the_schedule_posts_one_report_however_many_nodes_run_it(
    app_config: AppConfig, sessions: Sessions, tmp_path: Path
) -> None:
    _week_of_posts(sessions)
    cfg = app_config.model_copy(
        update={"reports": app_config.reports.model_copy(update={"out_dir": tmp_path})}
    )
    first, second = RecordingQueue(), RecordingQueue()
    monday = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert scheduled_report(sessions, cfg, first, monday)
    assert not scheduled_report(sessions, cfg, second, monday + timedelta(minutes=1))
    assert not scheduled_report(sessions, cfg, first, monday + timedelta(hours=3))
    assert len(first.reports) == 1
    assert second.reports == []
    channel, text, charts = first.reports[0]
    assert channel == "#hark-reports"
    assert "week 2026-W48" in text
    assert "30 mentions" in text
    assert {p.name for p in charts} == {"volume.png", "sentiment.png", "intents.png", "topics.png"}
    with sessions() as session:
        row = session.get(ReportRow, "2026-W48")
        assert row is not None
        assert row.posted_ref == "report-1"
        assert row.posted_at is not None


def test_a_claim_left_by_a_crashed_node_is_taken_over_after_an_hour(
    app_config: AppConfig, sessions: Sessions, tmp_path: Path
) -> None:
    cfg = app_config.model_copy(
        update={"reports": app_config.reports.model_copy(update={"out_dir": tmp_path})}
    )
    monday = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    with sessions.begin() as session:
        session.add(ReportRow(week="2026-W48", claimed_at=monday))  # claimed, never posted
    queue = RecordingQueue()
    assert not scheduled_report(sessions, cfg, queue, monday + timedelta(minutes=30))
    assert scheduled_report(sessions, cfg, queue, monday + timedelta(minutes=61))
    assert len(queue.reports) == 1


def test_slack_gets_the_summary_and_charts_through_the_three_step_upload(
    app_config: AppConfig, sessions: Sessions, tmp_path: Path, httpserver: HTTPServer
) -> None:
    _week_of_posts(sessions)
    with sessions.begin() as session:
        post(
            session,
            datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
            text="<!channel> brake squeal again <@U0ADMIN>",
            sentiment="negative",
            intent="complaint",
            vector=topic_vector(1),
        )
    slack = FakeSlack(httpserver)
    queue = SlackQueueResponder.on_client(WebClient(token="xoxb-test", base_url=slack.url), QueueConfig())
    cfg = app_config.model_copy(
        update={"reports": app_config.reports.model_copy(update={"out_dir": tmp_path})}
    )
    assert scheduled_report(sessions, cfg, queue, datetime(2026, 11, 30, 8, 0, tzinfo=UTC))

    names = [name for name, _ in slack.calls]
    assert names.count("files.getUploadURLExternal") == 4
    assert names.count("upload") == 4
    assert names.count("files.completeUploadExternal") == 1
    assert names.index("files.completeUploadExternal") > max(i for i, n in enumerate(names) if n == "upload")
    folder = tmp_path / "2026-W48"
    assert sorted(slack.uploads.values()) == sorted(
        (folder / f"{n}.png").read_bytes() for n in ("volume", "sentiment", "intents", "topics")
    )
    complete = slack.of("files.completeUploadExternal")[0]
    assert complete["channel_id"] == "C0REPORT"
    comment = str(complete["initial_comment"])
    assert "week 2026-W48" in comment
    assert "<!channel>" not in comment  # a post's words never come alive in Slack
    with sessions() as session:
        assert session.scalar(sa.select(ReportRow.posted_ref).where(ReportRow.week == "2026-W48"))
