"""`hark customers` and `hark leads`: the 360° view, CRM import, linking, leads and privacy requests."""

from __future__ import annotations

import typer

customers_cli = typer.Typer(help="Customers: import, show, link, merge, export, forget", no_args_is_help=True)
leads_cli = typer.Typer(help="Leads from buying signals, for the sales team.", no_args_is_help=True)
