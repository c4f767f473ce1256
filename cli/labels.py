"""`hark label`: a person corrects a mention's labels; corrections win over the model."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.conventions import JsonOption, emit_json, exits_cleanly, unit_of_work


@exits_cleanly
def label(
    mention: Annotated[
        str, typer.Argument(help="mention id, or platform:external_id (x:1850000000000000000)")
    ],
    by: Annotated[str, typer.Option(help="who corrects the label (kept in the audit log)")],
    sentiment: Annotated[str | None, typer.Option(help="negative, neutral or positive")] = None,
    intent: Annotated[str | None, typer.Option(help="one of the intents")] = None,
    needs_reply: Annotated[bool | None, typer.Option("--needs-reply/--no-reply")] = None,
    relevant: Annotated[bool | None, typer.Option("--relevant/--not-relevant")] = None,
    as_json: JsonOption = False,
) -> None:
    """Correct a mention's labels; corrections win over the model and feed `hark train --with-corrections`."""
    from store.labels import effective_labels, find_mention_id, record_correction  # noqa: PLC0415

    changes = {"sentiment": sentiment, "intent": intent, "needs_reply": needs_reply, "relevant": relevant}
    wanted = {k: str(v).lower() for k, v in changes.items() if v is not None}
    if not wanted:
        typer.echo(
            "error: give at least one of --sentiment, --intent, --needs-reply/--no-reply, --relevant",
            err=True,
        )
        raise typer.Exit(2)
    with unit_of_work() as session:
        mention_id = find_mention_id(session, mention)
        if mention_id is None:
            typer.echo(f"error: no mention {mention} (give its id or platform:external_id)", err=True)
            raise typer.Exit(2)
        try:
            for field, value in wanted.items():
                record_correction(session, mention_id, field, value, by)
        except ValueError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None
        labels = effective_labels(session, mention_id)
    document = {
        "mention_id": mention_id,
        "labels": None
        if labels is None
        else {
            "sentiment": labels.sentiment,
            "intent": labels.intent,
            "needs_reply": labels.needs_reply,
            "relevant": labels.relevant,
            "corrected": list(labels.corrected),
        },
    }
    if as_json:
        emit_json(document)
    else:
        typer.echo(f"mention {mention_id}: {document['labels']}")
