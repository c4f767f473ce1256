"""`hark replies`: the outbox for people: list, show, approve, edit, cancel, pause, resume, explain."""

from __future__ import annotations

from typing import Annotated, Any

import typer
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
    out_console,
    unit_of_work,
)
from hark.errors import UsageError

replies_cli = typer.Typer(
    help="The reply outbox: review, send, pause, and why a post got no auto-reply.", no_args_is_help=True
)
ReplyArg = Annotated[int, typer.Argument(help="reply id (see `hark replies list`)")]


def _print_reply(reply: dict[str, Any]) -> None:
    out = out_console()
    out.print(f"reply {reply['id']} · {reply['status']} · {reply['platform']} · to {escape(reply['author'])}")
    out.print(escape(reply["text"] or "(no text)"))
    for key in ("template", "approved_by", "error", "platform_post_id", "sent_at"):
        if reply[key]:
            out.print(f"{key}: {escape(str(reply[key]))}")


def _show(reply: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(reply)
    else:
        _print_reply(reply)


@replies_cli.command("list")
@exits_cleanly
def list_(
    status: Annotated[str | None, typer.Option(help="only replies in this status")] = None,
    as_json: JsonOption = False,
) -> None:
    """Replies, newest first: draft, blocked (with the rule), approved, sending, sent, failed, cancelled."""
    from store.reply_review import list_replies  # noqa: PLC0415  # keeps --help fast

    with unit_of_work() as session:
        replies = list_replies(session, status)
    if as_json:
        emit_json(replies)
        return
    table = Table("reply", "status", "to", "text", "why / who", title="Replies")
    for reply in replies:
        table.add_row(
            str(reply["id"]),
            reply["status"],
            escape(f"{reply['platform']} {reply['author']}"),
            escape(reply["text"][:80]),
            escape(reply["error"] or reply["approved_by"] or ""),
        )
    out_console().print(table)


@replies_cli.command()
@exits_cleanly
def show(reply: ReplyArg, as_json: JsonOption = False) -> None:
    """One reply with its text, status and history."""
    from store.reply_review import show_reply  # noqa: PLC0415

    with unit_of_work() as session:
        document = show_reply(session, reply)
    _show(document, as_json)


@replies_cli.command()
@exits_cleanly
def approve(
    reply: ReplyArg,
    by: Annotated[str, typer.Option("--by", help="who approves (kept with the reply and in the audit log)")],
    as_json: JsonOption = False,
) -> None:
    """Send a draft, a reply the policy blocked, or one that failed: the next delivery posts it, once."""
    from store.reply_review import approve_reply  # noqa: PLC0415

    with unit_of_work() as session:
        document = approve_reply(session, reply, by=by)
    _show(document, as_json)


@replies_cli.command()
@exits_cleanly
def send(
    reply: ReplyArg,
    by: Annotated[str, typer.Option("--by", help="who sends it (kept with the reply and in the audit log)")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a reply if it is not yet, and post it now through the configured platform client (dry run
    prints it). Paused replies, the kill switch and a platform's backoff still hold it."""
    from app.delivery import deliver_pending  # noqa: PLC0415
    from cli.conventions import open_db  # noqa: PLC0415
    from responders.registry import build_reply_responders  # noqa: PLC0415
    from store.reply_review import APPROVABLE, approve_reply, show_reply  # noqa: PLC0415
    from store.switches import replies_paused  # noqa: PLC0415

    cfg = load_app_config(config)
    repliers = build_reply_responders(cfg.responders.replies.dry_run, cfg.sources, out_console())
    db = open_db()
    try:
        with db.sessions.begin() as session:
            if show_reply(session, reply)["status"] in APPROVABLE:
                approve_reply(session, reply, by=by)
        deliver_pending(db.sessions, repliers, cfg.responders.replies.kill_switch, 1, only=[reply])
        with db.sessions() as session:
            document = show_reply(session, reply)
            paused = replies_paused(session)
    finally:
        db.engine.dispose()
    _show(document, as_json)
    if document["status"] != "sent":
        why = f"replies are paused by {paused.by}" if paused else document["error"] or "not sent"
        typer.echo(f"error: reply {reply} is {document['status']}: {why}", err=True)
        raise typer.Exit(1)


@replies_cli.command()
@exits_cleanly
def edit(
    reply: ReplyArg,
    text: Annotated[str, typer.Option("--text", help="the new text; it must fit the platform")],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change the words of a reply that has not gone out."""
    from store.reply_review import edit_reply  # noqa: PLC0415

    with unit_of_work() as session:
        document = edit_reply(session, reply, text, by=actor_name(actor))
    _show(document, as_json)


@replies_cli.command()
@exits_cleanly
def cancel(reply: ReplyArg, actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Never send this reply."""
    from store.reply_review import cancel_reply  # noqa: PLC0415

    with unit_of_work() as session:
        document = cancel_reply(session, reply, by=actor_name(actor))
    _show(document, as_json)


@replies_cli.command()
@exits_cleanly
def pause(
    reason: Annotated[str | None, typer.Option(help="why, for the team and the audit log")] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop every running Hark from sending replies; they wait in the outbox until `resume`."""
    from store.switches import pause_replies  # noqa: PLC0415

    with unit_of_work() as session:
        paused = pause_replies(session, by=actor_name(actor), reason=reason)
    document = {"paused": True, "by": paused.by, "reason": paused.reason, "since": paused.since.isoformat()}
    if as_json:
        emit_json(document)
    else:
        typer.echo(f"replies paused by {paused.by} since {paused.since:%Y-%m-%d %H:%M} UTC")


@replies_cli.command()
@exits_cleanly
def resume(actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Let replies go out again; what waited is sent once."""
    from store.switches import resume_replies  # noqa: PLC0415

    with unit_of_work() as session:
        was_paused = resume_replies(session, by=actor_name(actor))
    if as_json:
        emit_json({"paused": False, "was_paused": was_paused})
    else:
        typer.echo("replies resumed" if was_paused else "replies were not paused")


@replies_cli.command()
@exits_cleanly
def explain(
    mention: Annotated[str, typer.Argument(help="mention id, or platform:external_id")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Which policy rules allow or block an automated reply to a mention, and why."""
    from app.pipeline import Routing, explain_auto_reply  # noqa: PLC0415
    from hark.brand import OwnAccounts  # noqa: PLC0415
    from responders.console import ConsoleQueueResponder  # noqa: PLC0415
    from responders.templates import ReplyTemplates  # noqa: PLC0415
    from store.labels import find_mention_id  # noqa: PLC0415

    cfg = load_app_config(config)
    routing = Routing(
        cfg=cfg,
        templates=ReplyTemplates(cfg.routing.templates),
        queue=ConsoleQueueResponder(),  # explaining posts no card
        own=OwnAccounts.build(cfg.brand),
    )
    with unit_of_work() as session:
        mention_id = find_mention_id(session, mention)
        if mention_id is None:
            raise UsageError(f"no mention {mention} (give its id or platform:external_id)")
        try:
            document = explain_auto_reply(session, routing, mention_id)
        except LookupError as err:  # stored but not classified yet
            raise UsageError(f"mention {mention}: {err}") from err
    if as_json:
        emit_json(document)
        return
    out = out_console()
    route = document["route"]
    out.print(f"mention {mention_id}: routing says {route['action']} (rule: {escape(route['rule'])})")
    if document["text"]:
        out.print(f"reply: {escape(document['text'])}")
    for check in document["checks"]:
        mark = "ok     " if check["allowed"] else "BLOCKS "
        out.print(f"  {mark}{check['rule']:<17}{escape(check['why'])}")
    verdict = "allowed" if document["allowed"] else f"blocked by {document['blocked_by']}"
    out.print(f"auto-reply: {verdict}")
