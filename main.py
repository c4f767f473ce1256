"""The `hark` command line: assembles the command groups of cli/. The only place that exits."""

from __future__ import annotations

import os

# Offline unless the operator says otherwise: no hub lookups, no telemetry, quiet transformers.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import typer

from cli import labels, model, pipeline
from cli.customers import customers_cli
from cli.db import db_cli
from cli.leads import leads_cli
from cli.replies import replies_cli
from cli.reports import report_cli

cli = typer.Typer(
    help="Hark: a self-hosted social CRM listening and engagement bot.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
cli.command()(pipeline.run)
cli.command()(pipeline.status)
cli.add_typer(db_cli, name="db")
cli.command()(model.train)
cli.command()(model.classify)
cli.command()(labels.label)
cli.command("eval")(model.evaluate)
cli.add_typer(customers_cli, name="customers")
cli.add_typer(leads_cli, name="leads")
cli.add_typer(replies_cli, name="replies")
cli.add_typer(model.bench_cli, name="bench")
cli.add_typer(report_cli, name="report")


if __name__ == "__main__":
    cli()
