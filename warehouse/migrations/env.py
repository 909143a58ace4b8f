"""Alembic environment: the database comes from warehouse.database, the version table lives in ops."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from warehouse.database import database_url, sqlalchemy_url

VERSION_SCHEMA = "ops"


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or database_url()
    # NullPool: close the connection afterwards (a pooled one would hold the database open).
    with create_engine(sqlalchemy_url(url), poolclass=NullPool).connect() as connection:
        _run(connection)


def _run(connection) -> None:
    # The version table needs its schema before the first migration runs.
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {VERSION_SCHEMA}"))
    connection.commit()
    context.configure(
        connection=connection,
        version_table_schema=VERSION_SCHEMA,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `vnotify db migrate`")
run_migrations_online()
