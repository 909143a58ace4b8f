"""The database a command works on, ready to use: the embedded one is migrated on first use; a
server named by DATABASE_URL is never changed behind the operator's back, so a command on an
unmigrated one stops and says what to run."""

from __future__ import annotations

import typer

from vnotify.output import err_console


def migrated_database_url() -> str:
    from warehouse import database, migrate

    url = database.database_url()
    current, head = migrate.current_revision(url), migrate.head_revision()
    if current == head:
        return url
    if database.uses_embedded():
        err_console.print(f"migrating the embedded database to {head} (it was at {current or 'nothing'})")
        migrate.upgrade(url)
        return url
    err_console.print(
        f"[red]the database at DATABASE_URL is not migrated[/] (it is at {current or 'nothing'}, the "
        f"code needs {head}): run `vnotify db migrate`, then this command again"
    )
    raise typer.Exit(2)
