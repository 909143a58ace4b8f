"""`vnotify replies list|decide`: the replies waiting for a person, and the reviewer's decision."""

from __future__ import annotations

import typer
from rich.table import Table

from vnotify.output import console, emit, err_console

app = typer.Typer(
    help="Victims' replies waiting for a person, and what the reviewer decides.", no_args_is_help=True
)
JSON = typer.Option(False, "--json", help="Print one JSON object as the last line.")


@app.command("list")
def list_replies(
    show_text: bool = typer.Option(
        False, "--show-text", help="Also print the victim's words and number (PII)."
    ),
    include_reviewed: bool = typer.Option(False, "--all", help="Reviewed replies too."),
    limit: int = typer.Option(50, "--limit", min=1),
    as_json: bool = JSON,
) -> None:
    """Replies waiting for review, urgent first, then the oldest. `holding` means the sender's
    messages are paused until someone decides (the reply might be an opt-out)."""
    import psycopg

    from notifications.reply_review import review_queue
    from vnotify.commands.ready import migrated_database_url

    with psycopg.connect(migrated_database_url()) as conn:
        rows = review_queue(conn, limit=limit, include_reviewed=include_reviewed, with_text=show_text)

    def render() -> None:
        if not rows:
            console.print("no reply is waiting for review")
            return
        table = Table(title="Replies")
        for column in (
            "id",
            "received",
            "kind",
            "urgent",
            "holding",
            "report",
            "language",
            *(["text"] if show_text else []),
        ):
            table.add_column(column)
        for row in rows:
            table.add_row(
                str(row["inbound_id"]),
                f"{row['received_at']:%Y-%m-%d %H:%M}",
                row["kind"] or "",
                "URGENT" if row["urgent"] else "",
                "holding" if row["is_holding"] else "",
                row["report_number"] or "",
                row["language"] or "",
                *([row["body"] or ""] if show_text else []),
            )
        console.print(table)
        console.print(
            "Decide: `vnotify replies decide ID --opt-out|--release|--reviewed --by NAME [--note TEXT]`"
        )

    emit({"replies": rows}, as_json, render)


@app.command()
def decide(
    inbound_id: int = typer.Argument(..., help="The reply's id (`vnotify replies list`)."),
    opt_out: bool = typer.Option(False, "--opt-out", help="Record an opt-out: every channel of the sender."),
    release: bool = typer.Option(False, "--release", help="Not an opt-out: lift the hold, messages go on."),
    reviewed: bool = typer.Option(False, "--reviewed", help="Seen and dealt with; nothing to change."),
    reviewer: str = typer.Option(..., "--by", help="Who decides (recorded with the decision)."),
    note: str = typer.Option(None, "--note", help="Why (kept with the reply; no victim details)."),
    as_json: bool = JSON,
) -> None:
    """Record the decision on one reply."""
    import psycopg

    from notifications.reply_review import UnknownReply
    from notifications.reply_review import decide as record
    from vnotify.commands.ready import migrated_database_url

    chosen = [
        name
        for name, flag in (("confirmed_opt_out", opt_out), ("released", release), ("reviewed", reviewed))
        if flag
    ]
    if len(chosen) != 1:
        err_console.print("choose exactly one of --opt-out, --release, --reviewed")
        raise typer.Exit(2)
    try:
        with psycopg.connect(migrated_database_url()) as conn:
            changed = record(conn, inbound_id, chosen[0], reviewer, note)  # type: ignore[arg-type]
    except UnknownReply as error:
        err_console.print(f"{error}: `vnotify replies list --all` shows the ids")
        raise typer.Exit(1) from None
    emit(changed, as_json)
