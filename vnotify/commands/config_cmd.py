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
    connect: bool = typer.Option(
        False, "--connect", help="Also run the extract.sql queries against the RMS once, read-only."
    ),
) -> None:
    """Validate an agency configuration file; errors name the field and its line. With
    --connect, run each RMS query once (read-only, nothing loaded) and report its columns and
    row count, and the contract columns it lacks or does not know."""
    path = path or config_path()
    try:
        config = load_config(path)
    except ConfigError as error:
        if as_json:
            emit({"valid": False, "path": str(path), "errors": str(error).splitlines()}, True)
        else:
            err_console.print(f"[red]invalid configuration[/]\n{error}", soft_wrap=True)
        raise typer.Exit(2) from None

    probes = _probe(config) if connect else []
    broken = any(p.error or p.missing or p.unknown for p in probes)

    def render() -> None:
        console.print(f"[green]valid[/] {path}")
        for probe in probes:
            if probe.error:
                console.print(f"  [red]{probe.table}[/]: the query failed ({probe.error})")
                continue
            console.print(f"  {probe.table}: {probe.rows} rows, columns {', '.join(probe.columns)}")
            if probe.missing:
                console.print(f"    [red]missing required columns[/]: {', '.join(probe.missing)}")
            if probe.unknown:
                console.print(f"    [red]columns the contract does not know[/]: {', '.join(probe.unknown)}")
        console.print(f"{config.agency.name} ({config.agency.short_name}), {config.agency.time_zone}")
        for division in config.divisions:
            console.print(f"  {division.code:<6} {division.name:<24} live from {division.go_live}")

    emit(
        {
            "valid": True,
            "path": str(path),
            "agency": config.agency.short_name,
            "divisions": [d.code for d in config.divisions],
            "rms_queries": [vars(p) for p in probes],
        },
        as_json,
        render,
    )
    if broken:
        raise typer.Exit(1)


def _probe(config):
    if config.extract.sql is None:
        err_console.print("error: --connect needs extract.sql in the configuration")
        raise typer.Exit(2)
    from ingest.rms_extract import probe_queries
    from warehouse.database import database_url, uses_embedded

    # The watermark, when a database is configured; the embedded one is not started for this.
    url = None if uses_embedded() else database_url()
    try:
        return probe_queries(config.extract.sql, url=url, zone=config.agency.zone)
    except RuntimeError as error:
        err_console.print(f"error: {error}")
        raise typer.Exit(2) from None
