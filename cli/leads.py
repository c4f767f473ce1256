"""`hark leads`: buying signals for the sales team: list, export for the CRM, record the follow-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.conventions import (
    ActorOption,
    JsonOption,
    actor_name,
    emit_json,
    exits_cleanly,
    out_console,
    unit_of_work,
)

leads_cli = typer.Typer(help="Leads from buying signals, for the sales team.", no_args_is_help=True)

StatusOption = Annotated[
    str | None, typer.Option("--status", help="only leads in this status: new, contacted, won, lost")
]


@leads_cli.command("list")
@exits_cleanly
def list_(status: StatusOption = None, as_json: JsonOption = False) -> None:
    """Leads, best score first, with the customer and the post that showed the buying signal."""
    from store.leads import list_leads  # noqa: PLC0415

    with unit_of_work() as session:
        leads = list_leads(session, status)
    if as_json:
        emit_json(leads)
        return
    table = Table("lead", "status", "score", "customer", "products", "source", title="Leads")
    for lead in leads:
        who = lead["customer_name"] or " ".join(lead["handles"])
        table.add_row(
            str(lead["lead_id"]),
            lead["status"],
            f"{lead['score']:.2f}",
            escape(f"{lead['customer_id']} {who}"),
            escape(lead["product_interest"] or ""),
            escape(lead["source_url"] or ""),
        )
    out_console().print(table)


@leads_cli.command("export")
@exits_cleanly
def export_leads(
    file: Annotated[Path, typer.Argument(help="CSV file to write")],
    status: StatusOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write leads as CSV for the sales team's CRM."""
    from store.leads import list_leads, write_leads_csv  # noqa: PLC0415

    with unit_of_work() as session:
        leads = list_leads(session, status)
    write_leads_csv(leads, file)
    if as_json:
        emit_json({"file": str(file), "leads": len(leads)})
    else:
        typer.echo(f"wrote {len(leads)} leads to {file}")


@leads_cli.command("set-status")
@exits_cleanly
def set_status(
    lead: Annotated[int, typer.Argument(help="lead id")],
    status: Annotated[str, typer.Argument(help="new, contacted, won or lost")],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record how sales followed up a lead. Audited."""
    from store.leads import LEAD_STATUSES, set_lead_status  # noqa: PLC0415

    if status not in LEAD_STATUSES:
        typer.echo(f"error: STATUS must be one of {', '.join(LEAD_STATUSES)}", err=True)
        raise typer.Exit(2)
    with unit_of_work() as session:
        row = set_lead_status(session, lead, status, actor=actor_name(actor))
        document = {"lead_id": row.id, "status": row.status}
    if as_json:
        emit_json(document)
    else:
        typer.echo(f"lead {lead} is now {status}")
