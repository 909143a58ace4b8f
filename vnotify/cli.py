"""`vnotify`: the command line. Each command group lives in vnotify/commands/."""

from __future__ import annotations

import typer

from vnotify.commands import (
    config_cmd,
    db_cmd,
    demo_cmd,
    evaluate_cmd,
    extract_cmd,
    ingest_cmd,
    mapping_cmd,
    ops_cmd,
    quarantine_cmd,
    replies_cmd,
    retention_cmd,
    run_cmd,
    send_cmd,
    serve_cmd,
    simulate_cmd,
    surveys_cmd,
    transform_cmd,
)
from vnotify.commands.emulate_cmd import emulate
from vnotify.output import err_console

app = typer.Typer(
    name="vnotify",
    help="Victim-notification platform for police departments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db_cmd.app, name="db")
app.add_typer(config_cmd.app, name="config")
app.add_typer(simulate_cmd.app, name="simulate")
app.add_typer(surveys_cmd.app, name="surveys")
app.add_typer(mapping_cmd.app, name="mapping")
app.add_typer(quarantine_cmd.app, name="quarantine")
app.add_typer(extract_cmd.app, name="extract")
app.add_typer(ops_cmd.app, name="ops")
app.add_typer(replies_cmd.app, name="replies")
app.command("ingest")(ingest_cmd.ingest)
app.command("transform")(transform_cmd.transform)
app.command("demo")(demo_cmd.demo)
app.command("emulate")(emulate)
app.command("send")(send_cmd.send)
app.command("serve")(serve_cmd.serve)
app.command("evaluate")(evaluate_cmd.evaluate)
app.command("run")(run_cmd.run)
app.command("retention")(retention_cmd.retention)


def main() -> None:
    """The `vnotify` script: set-up problems that only the operator can fix end in one clear line."""
    from warehouse.keys import KeySecretMissing

    try:
        app()
    except KeySecretMissing as problem:
        err_console.print(f"[red]error[/] {problem}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
