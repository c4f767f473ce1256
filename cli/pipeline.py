"""`hark run` and `hark status`: the pipeline, and how each stage and source is doing."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.conventions import ConfigOption, JsonOption, emit_json, exits_cleanly, load_app_config, open_db

log = logging.getLogger("hark")


@exits_cleanly
def run(
    config: ConfigOption = None,
    once: Annotated[bool, typer.Option("--once", help="one full pass over every stage, then exit")] = False,
    as_json: JsonOption = False,
) -> None:
    """Poll, classify, link and route mentions (APScheduler in-process), until SIGTERM or SIGINT."""
    from app.runner import run_forever, run_once  # noqa: PLC0415
    from app.runtime import build  # noqa: PLC0415
    from hark.secrets import load_secrets  # noqa: PLC0415

    cfg, secrets = load_app_config(config), load_secrets()
    runtime = build(cfg, secrets, Console(stderr=as_json, highlight=False))
    if once:
        counts = run_once(runtime)
        log.info("run_once_done %s", " ".join(f"{k}={v}" for k, v in counts.items()))
        if as_json:
            emit_json(counts)
        if counts["sources_failing"]:
            raise typer.Exit(1)
        return
    run_forever(runtime)


@exits_cleanly
def status(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Counts per stage and the health of each source."""
    from store.status import pipeline_status  # noqa: PLC0415

    cfg = load_app_config(config)
    db = open_db()
    with db.sessions() as session:
        report = pipeline_status(session, [s.name for s in cfg.sources])
    if as_json:
        emit_json(report)
        return
    console = Console(highlight=False)
    counts = Table("stage", "count", title="Hark pipeline")
    for key, value in report.items():
        if key not in ("sources", "alerts"):
            counts.add_row(key, str(value))
    console.print(counts)
    sources = Table("source", "healthy", "last success", "failures", "fetched", "last error", title="Sources")
    for src in report["sources"]:
        sources.add_row(
            src["name"],
            "yes" if src["healthy"] else "NO",
            src["last_success_at"] or "never",
            str(src["consecutive_failures"]),
            str(src["items_fetched"]),
            src["last_error"] or "",
        )
    console.print(sources)
    if report["alerts"]:
        alerts = Table(
            "raised", "alert", "subject", "state", "message", title="Alerts (active, or of the last day)"
        )
        for alert in report["alerts"]:
            state = "ACTIVE" if alert["active"] else "over"
            alerts.add_row(alert["fired_at"][:16], alert["kind"], alert["subject"], state, alert["message"])
        console.print(alerts)
