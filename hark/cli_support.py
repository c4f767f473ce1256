"""What every `hark` command shares: logging to stderr, exit codes, JSON on stdout, common options."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from hark.errors import AuthError, ConfigError, HarkError, UsageError

P = ParamSpec("P")
R = TypeVar("R")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="config file (default: $HARK_CONFIG or ./config.yaml)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="print one JSON document on stdout")]
QUIET_LOGGERS = (
    "tweepy",
    "prawcore",
    "praw",
    "slack_sdk",
    "slack_bolt",
    "urllib3",
    "requests_oauthlib",
    "apscheduler",
    "alembic",
    "transformers",
    "httpx",
)


def setup_logging() -> None:
    level = os.environ.get("HARK_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    for name in QUIET_LOGGERS:  # their DEBUG output includes headers and request bodies
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))


def exits_cleanly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn Hark's errors into a one-line message and the exit codes DESIGN.md promises."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        setup_logging()
        try:
            return func(*args, **kwargs)
        except (ConfigError, AuthError, UsageError) as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None
        except HarkError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")
