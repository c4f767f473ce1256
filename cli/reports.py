"""`hark report weekly` and `hark report alerts`: the managers' report, and a check for spikes and silence."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli.conventions import ConfigOption, JsonOption, emit_json, exits_cleanly, load_app_config, open_db

report_cli = typer.Typer(help="The weekly report and alerts.", no_args_is_help=True)


@report_cli.command("weekly")
@exits_cleanly
def weekly(
    week: Annotated[
        str | None, typer.Option("--week", help="an ISO week, 2026-W47 (default: the last complete one)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="write into DIR/<week>/ (default: reports.out_dir)")
    ] = None,
    post: Annotated[bool, typer.Option("--post", help="also post the summary and charts to Slack")] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build the weekly report: report.html, report.json and PNG charts."""
    from app.reporting import build_report, post_report  # noqa: PLC0415  # keeps --help fast
    from reports.output import summary  # noqa: PLC0415
    from reports.weeks import IsoWeek  # noqa: PLC0415

    cfg = load_app_config(config)
    chosen = IsoWeek.parse(week) if week else IsoWeek.last_complete(datetime.now(UTC), cfg.brand.zone)
    db = open_db()
    try:
        built = build_report(db.sessions, cfg, chosen, out)
        posted = None
        if post:
            from hark.secrets import load_secrets  # noqa: PLC0415
            from responders.registry import build_queue_responder  # noqa: PLC0415

            queue = build_queue_responder(cfg.responders.queue, load_secrets(), Console(stderr=True))
            posted = post_report(db.sessions, cfg, queue, built)
    finally:
        db.engine.dispose()
    files = built.files
    if as_json:
        emit_json(
            {
                "files": {
                    "html": str(files.html),
                    "json": str(files.json),
                    "charts": [str(p) for p in files.charts],
                },
                "posted": posted,
                "report": built.report.figures,
            }
        )
        return
    console = Console(highlight=False, soft_wrap=True)
    console.print(summary(cfg.brand.name, built.report.figures), markup=False)
    console.print(f"\nreport: {files.html}\nfigures: {files.json}", markup=False)


@report_cli.command("alerts")
@exits_cleanly
def alerts(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Check for spikes and silent sources now, post what is owed, and list the alerts of the last day."""
    from datetime import timedelta  # noqa: PLC0415

    from app.reporting import watch_alerts  # noqa: PLC0415
    from hark.secrets import load_secrets  # noqa: PLC0415
    from responders.registry import build_queue_responder  # noqa: PLC0415
    from store.alerts import recent_alerts  # noqa: PLC0415

    cfg = load_app_config(config)
    queue = build_queue_responder(cfg.responders.queue, load_secrets(), Console(stderr=True))
    db = open_db()
    try:
        now = datetime.now(UTC)
        posted = watch_alerts(db.sessions, cfg, queue, now)
        with db.sessions() as session:
            listed = recent_alerts(session, now - timedelta(days=1))
    finally:
        db.engine.dispose()
    if as_json:
        emit_json({"posted": posted, "alerts": listed})
        return
    console = Console(highlight=False, soft_wrap=True)
    for alert in listed:
        state = "active" if alert["active"] else f"cleared {alert['cleared_at'] or ''}"
        console.print(
            f"{alert['fired_at']} {alert['kind']} {alert['subject']} ({state})\n{alert['message']}\n",
            markup=False,
        )
    if not listed:
        console.print("No alerts in the last day.")
