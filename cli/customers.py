"""`hark customers`: the 360° view, CRM import, linking, merging and privacy requests."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.conventions import (
    ActorOption,
    ConfigOption,
    JsonOption,
    actor_name,
    emit_json,
    exits_cleanly,
    load_app_config,
    open_db,
    out_console,
    unit_of_work,
)

log = logging.getLogger("hark.customers")

customers_cli = typer.Typer(help="Customers: import, show, link, merge, export, forget", no_args_is_help=True)


CustomerArg = Annotated[str, typer.Argument(help="customer id, @handle (X), u/name (Reddit) or CRM id")]
# --- customers --------------------------------------------------------------------------------------


@customers_cli.command("import")
@exits_cleanly
def import_file(
    file: Annotated[Path, typer.Argument(help="CSV export of the CRM (columns in README.md)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check and count, write nothing")] = False,
    max_rejected: Annotated[
        float,
        typer.Option(help="refuse the whole file when more than this share of rows is bad", min=0, max=1),
    ] = 0.10,
    as_json: JsonOption = False,
) -> None:
    """Create or update customers from a CRM export. Re-importing the same file changes nothing."""
    from store.crm_import import import_customers_csv  # noqa: PLC0415  # keeps --help fast

    db = open_db()
    started = time.perf_counter()
    try:
        with db.sessions.begin() as session:
            result = import_customers_csv(session, file, max_rejected=max_rejected)
            if dry_run:
                result.applied = False
                session.rollback()
    finally:
        db.engine.dispose()
    seconds = round(time.perf_counter() - started, 3)
    log.info(
        "customers_import file=%s rows=%d created=%d updated=%d unchanged=%d rejected=%d seconds=%.3f",
        file.name,
        result.rows,
        result.created,
        result.updated,
        result.unchanged,
        len(result.rejected),
        seconds,
    )
    if as_json:
        emit_json(result.as_dict() | {"file": str(file), "seconds": seconds})
        return
    verb = "would import" if dry_run else "imported"
    typer.echo(
        f"{verb} {file}: {result.rows} rows, created {result.created}, updated {result.updated}, "
        f"unchanged {result.unchanged}, rejected {len(result.rejected)} in {seconds:.2f}s"
    )
    for line, reason in result.rejected:
        typer.echo(f"  line {line}: {reason}")


@customers_cli.command()
@exits_cleanly
def show(ref: CustomerArg, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Everything about one person: profile, accounts, mentions with labels, replies, cases, leads."""
    from store.customers import find_customer  # noqa: PLC0415
    from store.profiles import customer_view  # noqa: PLC0415

    cfg = load_app_config(config)
    with unit_of_work() as session:
        view = customer_view(session, find_customer(session, ref), cfg.customers)
    if as_json:
        emit_json(view)
        return
    _print_view(view)


def _print_view(view: dict[str, Any]) -> None:
    out = out_console()
    c = view["customer"]
    if c["forgotten_at"]:
        out.print(
            f"customer {c['id']}: forgotten at {c['forgotten_at']}; {len(view['mentions'])} mentions kept"
        )
        return
    _print_profile(out, c)
    accounts = Table("platform", "handle", "user id", "name", title="Accounts")
    for i in view["identities"]:
        seen = i["platform_user_id"] or "(not seen yet)"
        accounts.add_row(i["platform"], escape(i["handle"]), seen, escape(i["display_name"] or ""))
    out.print(accounts)
    timeline = Table("when", "platform", "sentiment", "intent", "P", "text", title="Mentions")
    for m in view["mentions"]:
        text = "(erased)" if m["erased"] else m["text"].replace("\n", " ")[:100]
        label = (m["sentiment"] or "", m["intent"] or "", str(m["priority"] or ""))
        timeline.add_row(m["created_at"][:16], m["platform"], *label, escape(text))
    out.print(timeline)
    replies = Table("when", "status", "approved by", "text", title="Replies")
    for r in view["replies"]:
        when = (r["sent_at"] or r["created_at"])[:16]
        replies.add_row(when, r["status"], escape(r["approved_by"] or ""), escape(r["text"][:100]))
    cases = Table("case", "platform", "status", "priority", "SLA due", title="Open cases")
    for case in view["cases"]:
        if case["status"] != "resolved":
            row = (
                str(case["id"]),
                case["platform"],
                case["status"],
                str(case["priority"]),
                case["sla_due_at"],
            )
            cases.add_row(*row[:4], row[4] or "")
    leads = Table("lead", "status", "score", "products", "signals", title="Leads")
    for lead in view["leads"]:
        products = escape(lead["product_interest"] or "")
        leads.add_row(str(lead["id"]), lead["status"], f"{lead['score']:.2f}", products, str(lead["signals"]))
    trend = Table("week", "+", "=", "-", "net", title="Sentiment trend")
    for week in view["sentiment_trend"]:
        counts = (str(week["positive"]), str(week["neutral"]), str(week["negative"]))
        trend.add_row(week["week"], *counts, str(week["net"]))
    for table in (replies, cases, leads, trend):
        if table.row_count:
            out.print(table)


def _print_profile(out: Console, c: dict[str, Any]) -> None:
    title = f"[bold]{escape(c['name'] or '(no name)')}[/bold]  customer {c['id']}"
    if c["external_crm_id"]:
        title += f"  CRM {escape(c['external_crm_id'])}"
    out.print(title)
    net = (
        f"{c['net_sentiment']} over {c['net_sentiment_mentions']} mentions in {c['net_sentiment_days']} days"
    )
    details = [
        ("email", c["email"]),
        ("phone", c["phone"]),
        ("tier", c["tier"]),
        ("segment", c["segment"]),
        ("lifetime value", c["lifetime_value"]),
        ("segments", ", ".join(c["segments"]) or "none"),
        ("net sentiment", net),
    ]
    for key, value in details:
        if value is not None:
            out.print(f"  {key}: {escape(str(value))}")
    for s in c["suggested_links"]:
        out.print(
            f"  suggestion {s['suggestion_id']}: {s['platform']} {escape(s['handle'])} -> customer "
            f"{s['customer_id']} ({s['reason']}): hark customers link --suggestion {s['suggestion_id']}"
        )


@customers_cli.command()
@exits_cleanly
def link(
    account: Annotated[str | None, typer.Argument(help="the account: @handle (X) or u/name (Reddit)")] = None,
    customer: Annotated[str | None, typer.Argument(help="the customer it belongs to")] = None,
    suggestion: Annotated[
        int | None, typer.Option("--suggestion", help="accept this link suggestion")
    ] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Link an account to a customer (its mentions, cases and leads follow), or accept a suggestion."""
    from store.customers import find_customer, find_identity  # noqa: PLC0415
    from store.link_suggestions import decide_suggestion  # noqa: PLC0415
    from store.merges import link_identity  # noqa: PLC0415

    if (suggestion is None) == (account is None or customer is None):
        typer.echo("error: give ACCOUNT and CUSTOMER, or --suggestion ID", err=True)
        raise typer.Exit(2)
    with unit_of_work() as session:
        if suggestion is not None:
            row = decide_suggestion(session, suggestion, accept=True, actor=actor_name(actor))
            identity_id, customer_id = row.identity_id, row.customer_id
        else:
            assert account is not None  # noqa: S101  # checked above
            assert customer is not None  # noqa: S101
            identity_id = find_identity(session, account).id
            customer_id = find_customer(session, customer).id
            link_identity(session, identity_id, customer_id, actor=actor_name(actor))
    document = {"identity_id": identity_id, "customer_id": customer_id}
    if as_json:
        emit_json(document)
    else:
        typer.echo(f"linked identity {identity_id} to customer {customer_id}")


@customers_cli.command()
@exits_cleanly
def suggestions(as_json: JsonOption = False) -> None:
    """Open link suggestions: accounts whose profile matches a CRM customer."""
    import sqlalchemy as sa  # noqa: PLC0415

    from store.models import CustomerRow, IdentityRow, LinkSuggestionRow  # noqa: PLC0415

    with unit_of_work() as session:
        rows = session.execute(
            sa.select(LinkSuggestionRow, IdentityRow, CustomerRow)
            .join(IdentityRow, IdentityRow.id == LinkSuggestionRow.identity_id)
            .join(CustomerRow, CustomerRow.id == LinkSuggestionRow.customer_id)
            .where(LinkSuggestionRow.status == "open")
            .order_by(LinkSuggestionRow.score.desc(), LinkSuggestionRow.id)
        ).all()
        document = [
            {
                "suggestion_id": s.id,
                "identity_id": i.id,
                "platform": i.platform,
                "handle": i.handle,
                "display_name": i.display_name,
                "customer_id": c.id,
                "customer_name": c.name,
                "external_crm_id": c.external_crm_id,
                "reason": s.reason,
                "score": s.score,
            }
            for s, i, c in rows
        ]
    if as_json:
        emit_json(document)
        return
    table = Table("id", "account", "customer", "reason", "score", title="Link suggestions")
    for d in document:
        table.add_row(
            str(d["suggestion_id"]),
            escape(f"{d['platform']} {d['handle']} ({d['display_name'] or ''})"),
            escape(f"{d['customer_id']} {d['customer_name'] or ''} {d['external_crm_id'] or ''}"),
            d["reason"],
            f"{d['score']:.1f}",
        )
    out_console().print(table)


@customers_cli.command()
@exits_cleanly
def dismiss(
    suggestion: Annotated[int, typer.Argument(help="suggestion id")], actor: ActorOption = None
) -> None:
    """Dismiss a link suggestion; it is not made again."""
    from store.link_suggestions import decide_suggestion  # noqa: PLC0415

    with unit_of_work() as session:
        decide_suggestion(session, suggestion, accept=False, actor=actor_name(actor))
    typer.echo(f"dismissed suggestion {suggestion}")


@customers_cli.command()
@exits_cleanly
def merge(
    keep: Annotated[str, typer.Argument(help="the customer that stays")],
    other: Annotated[str, typer.Argument(help="the customer merged into it (then deleted)")],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Merge two records of one person; every mention, case, reply, lead and account moves to KEEP."""
    from store.customers import find_customer  # noqa: PLC0415
    from store.merges import merge_customers  # noqa: PLC0415

    with unit_of_work() as session:
        keep_id, other_id = find_customer(session, keep).id, find_customer(session, other).id
        moved = merge_customers(session, keep_id, other_id, actor=actor_name(actor))
    if as_json:
        emit_json({"customer_id": keep_id, "merged": other_id, "moved": moved})
    else:
        typer.echo(
            f"merged customer {other_id} into {keep_id}: " + ", ".join(f"{k} {v}" for k, v in moved.items())
        )


@customers_cli.command()
@exits_cleanly
def export(
    ref: CustomerArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write to this file, not stdout")
    ] = None,
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Everything Hark holds on a person, as JSON (a data subject access request). Audited."""
    from store.customers import find_customer  # noqa: PLC0415
    from store.privacy import export_customer  # noqa: PLC0415

    cfg = load_app_config(config)
    with unit_of_work() as session:
        document = export_customer(
            session, find_customer(session, ref), cfg.customers, actor=actor_name(actor)
        )
    if output is None:
        emit_json(document)
    else:
        output.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


@customers_cli.command()
@exits_cleanly
def forget(
    ref: CustomerArg,
    yes: Annotated[bool, typer.Option("--yes", help="really erase: this cannot be undone")] = False,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Erase a person's data and text everywhere; anonymous counts stay so reports add up. Audited."""
    from store.customers import find_customer  # noqa: PLC0415
    from store.privacy import forget_customer  # noqa: PLC0415

    if not yes:
        typer.echo("error: forgetting cannot be undone; run again with --yes", err=True)
        raise typer.Exit(2)
    with unit_of_work() as session:
        customer_id = find_customer(session, ref).id
        counts = forget_customer(session, customer_id, actor=actor_name(actor))
    if as_json:
        emit_json({"customer_id": customer_id, "erased": counts})
    else:
        typer.echo(f"forgot customer {customer_id}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
