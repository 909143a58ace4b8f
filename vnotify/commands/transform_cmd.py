"""`vnotify transform`: normalize contacts, then build the dbt project (models and tests)."""

from __future__ import annotations

import typer

from vnotify.output import console, emit, err_console


def transform(
    full_refresh: bool = typer.Option(False, "--full-refresh", help="Rebuild incremental models from raw."),
    as_of: str = typer.Option(
        None, "--as-of", help="Decide eligibility as of this ISO time (backfills, demos)."
    ),
    all_tests: bool = typer.Option(
        False, "--all-tests", help="Run every data test even on an incremental run (they scan whole tables)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Run dbt: staging → intermediate → marts and restricted, with the rules' unit tests
    (and every data test on full builds or with --all-tests)."""
    from ingest.run import check_pending_batches
    from vnotify.commands.ready import migrated_database_url
    from warehouse.eligibility_summary import eligibility_summary
    from warehouse.transform import transform as run

    url = migrated_database_url()
    with console.status("checking batches not yet checked", spinner="dots"):
        held = check_pending_batches(url=url)
    with console.status("dbt build", spinner="dots"):
        result = run(full_refresh=full_refresh, as_of=as_of, all_tests=all_tests, quiet=True, url=url)
    summary = eligibility_summary(url) if result.success else None

    def render() -> None:
        colour = "green" if result.success else "red"
        console.print(
            f"[{colour}]dbt build {'passed' if result.success else 'failed'}[/] in {result.seconds:.1f} s"
        )
        console.print(", ".join(f"{n} {status}" for status, n in sorted(result.nodes.items())))
        console.print(
            f"contacts normalized: {result.contacts_normalized['phones']:,} phones, "
            f"{result.contacts_normalized['emails']:,} emails"
        )
        for failure in result.failures:
            err_console.print(f"[red]failed[/] {failure}")
        if held:
            err_console.print(f"[yellow]held[/] batches {held} failed their checks: nothing of them is used")
        if summary is not None:
            for line in summary.lines():
                console.print(line, soft_wrap=True)

    emit(
        {**result.as_dict(), "held_batches": held, "eligibility": summary and summary.as_dict()},
        as_json,
        render,
    )
    if not result.success:
        raise typer.Exit(1)
