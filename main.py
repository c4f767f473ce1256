"""The `hark` command line: load config, build, run. The only place that exits."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

# Offline unless the operator says otherwise: no hub lookups, no telemetry, quiet transformers.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import typer
from rich.console import Console
from rich.table import Table

from hark.cli_support import ConfigOption, JsonOption, emit_json, exits_cleanly
from hark.customers_cli import customers_cli, leads_cli

log = logging.getLogger("hark")

cli = typer.Typer(
    help="Hark: a self-hosted social CRM listening and engagement bot.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(customers_cli, name="customers")
cli.add_typer(leads_cli, name="leads")


def _load(config: Path | None) -> tuple[Any, Any]:
    from hark.config import config_path, load_config, load_secrets  # noqa: PLC0415  # keeps --help fast

    return load_config(config_path(config)), load_secrets()


@cli.command()
@exits_cleanly
def run(
    config: ConfigOption = None,
    once: Annotated[bool, typer.Option("--once", help="one full pass over every stage, then exit")] = False,
    as_json: JsonOption = False,
) -> None:
    """Poll, classify, link and route mentions (APScheduler in-process), until SIGTERM or SIGINT."""
    from hark.runner import run_forever, run_once  # noqa: PLC0415
    from hark.runtime import build  # noqa: PLC0415

    cfg, secrets = _load(config)
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


@cli.command()
@exits_cleanly
def status(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Counts per stage and the health of each source."""
    from hark.runtime import open_database  # noqa: PLC0415
    from store.status import pipeline_status  # noqa: PLC0415

    cfg, secrets = _load(config)
    db = open_database(secrets)
    with db.sessions() as session:
        report = pipeline_status(session, [s.name for s in cfg.sources])
    if as_json:
        emit_json(report)
        return
    console = Console(highlight=False)
    counts = Table("stage", "count", title="Hark pipeline")
    for key, value in report.items():
        if key != "sources":
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


@db_cli.command("upgrade")
@exits_cleanly
def db_upgrade() -> None:
    """Apply every pending migration to HARK_DATABASE_URL."""
    from hark.config import load_secrets  # noqa: PLC0415
    from hark.runtime import open_database  # noqa: PLC0415
    from store.db import current_revision  # noqa: PLC0415

    db = open_database(load_secrets())
    typer.echo(f"database at revision {current_revision(db.engine)}", err=True)


@cli.command()
@exits_cleanly
def train(
    data: Annotated[Path, typer.Option(help="folder of the shared labelled datasets")] = Path(
        "../shared/data"
    ),
    out: Annotated[Path, typer.Option(help="where to write the heads")] = Path("classifiers/model"),
    model: Annotated[str, typer.Option(help="encoder: bundled, a local directory or a hub id")] = "bundled",
    as_json: JsonOption = False,
) -> None:
    """Fit the sentiment, intent and needs-reply heads and write them with a model card."""
    from rich.progress import Progress  # noqa: PLC0415

    from classifiers.training import train as fit  # noqa: PLC0415
    from classifiers.transformer import SentenceEncoder, resolve_model_path  # noqa: PLC0415

    encoder = SentenceEncoder(resolve_model_path(model))
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("embedding", total=None)
        meta = fit(
            data,
            out,
            encoder,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    if as_json:
        emit_json(meta)
    else:
        typer.echo((out / "MODEL_CARD.md").read_text(encoding="utf-8"))


@cli.command()
@exits_cleanly
def classify(
    texts: Annotated[list[str], typer.Argument(help="posts to classify")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Classify texts with the configured model and print the labels."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from classifiers.registry import build_classifier  # noqa: PLC0415
    from hark.config import config_path, load_config  # noqa: PLC0415
    from hark.records import Author, Mention  # noqa: PLC0415
    from hark.runtime import relevance_rules  # noqa: PLC0415

    cfg = load_config(config_path(config))
    classifier = build_classifier(cfg.classifier, relevance_rules(cfg))
    now = datetime.now(UTC)
    mentions = [
        Mention(
            platform="x",
            external_id=str(i),
            source="cli",
            kind="post",
            text=text,
            url="",
            created_at=now,
            author=Author(platform="x", user_id="cli", handle="cli"),
        )
        for i, text in enumerate(texts)
    ]
    for text, label in zip(texts, classifier.classify(mentions), strict=True):
        document = {
            "text": text,
            "language": label.language,
            "relevant": label.relevant,
            "sentiment": label.sentiment,
            "sentiment_score": label.sentiment_score,
            "intent": label.intent,
            "intent_scores": dict(label.intent_scores),
            "needs_reply": label.needs_reply,
            "priority": label.priority,
            "model_version": label.model_version,
        }
        if as_json:
            sys.stdout.write(json.dumps(document) + "\n")
        else:
            typer.echo(
                f"{label.sentiment:8} {label.intent:16} reply={label.needs_reply!s:5} "
                f"P{label.priority:<3} {text}"
            )


if __name__ == "__main__":
    cli()
