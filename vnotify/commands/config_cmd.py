"""`vnotify config …`: check the agency configuration."""

from __future__ import annotations

from pathlib import Path

import typer

from vnotify.config import ConfigError, load_config
from vnotify.output import console, emit, err_console
from vnotify.paths import config_path

app = typer.Typer(help="Agency configuration.", no_args_is_help=True)


@app.command()
def check(
    path: Path = typer.Argument(None, help="Configuration file; default $VNOTIFY_CONFIG or the sample."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Validate an agency configuration file; errors name the field and its line."""
    path = path or config_path()
    try:
        config = load_config(path)
    except ConfigError as error:
        if as_json:
            emit({"valid": False, "path": str(path), "errors": str(error).splitlines()}, True)
        else:
            err_console.print(f"[red]invalid configuration[/]\n{error}", soft_wrap=True)
        raise typer.Exit(2) from None

    def render() -> None:
        console.print(f"[green]valid[/] {path}")
        console.print(f"{config.agency.name} ({config.agency.short_name}), {config.agency.time_zone}")
        for division in config.divisions:
            console.print(f"  {division.code:<6} {division.name:<24} live from {division.go_live}")

    emit(
        {
            "valid": True,
            "path": str(path),
            "agency": config.agency.short_name,
            "divisions": [d.code for d in config.divisions],
        },
        as_json,
        render,
    )
