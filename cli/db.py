"""`hark db`: the database schema."""

from __future__ import annotations

import typer

from cli.conventions import exits_cleanly, open_db

db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_cli.command("upgrade")
@exits_cleanly
def db_upgrade() -> None:
    """Apply every pending migration to HARK_DATABASE_URL."""
    from store.db import current_revision  # noqa: PLC0415

    db = open_db()
    typer.echo(f"database at revision {current_revision(db.engine)}", err=True)
