"""What every `hark` command shares: logging to stderr, exit codes, JSON on stdout, options, the database."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from hark.errors import AuthError, ConfigError, HarkError, UsageError

if TYPE_CHECKING:
    import sqlalchemy.orm as so

    from app.config import AppConfig
    from app.runtime import Database

P = ParamSpec("P")
R = TypeVar("R")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="config file (default: $HARK_CONFIG or ./config.yaml)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="print one JSON document on stdout")]
ActorOption = Annotated[
    str | None, typer.Option("--actor", help="who is acting, for the audit log (default: $USER)")
]
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
    "matplotlib",
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


def actor_name(actor: str | None) -> str:
    return actor or os.environ.get("USER") or "cli"


def load_app_config(config: Path | None) -> AppConfig:
    """The config file that --config, HARK_CONFIG or ./config.yaml names."""
    from app.config import config_path, load_config  # noqa: PLC0415  # keeps --help fast

    return load_config(config_path(config))


def open_db() -> Database:
    """The database of HARK_DATABASE_URL, migrated to the newest schema."""
    from app.runtime import open_database  # noqa: PLC0415
    from hark.secrets import load_secrets  # noqa: PLC0415

    return open_database(load_secrets())


@contextmanager
def unit_of_work() -> Iterator[so.Session]:
    """One transaction on the database, committed when the block ends without an error."""
    db = open_db()
    try:
        with db.sessions.begin() as session:
            yield session
    finally:
        db.engine.dispose()


def out_console() -> Console:
    return Console(highlight=False, soft_wrap=True)
