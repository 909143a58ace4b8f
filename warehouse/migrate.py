"""Run Alembic migrations programmatically (what `vnotify db migrate` calls)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from vnotify.paths import REPO_ROOT
from warehouse.database import database_url, sqlalchemy_url


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "warehouse" / "migrations"))
    config.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> str | None:
    command.upgrade(alembic_config(url), revision)
    return current_revision(url)


def downgrade(url: str | None = None, revision: str = "base") -> str | None:
    command.downgrade(alembic_config(url), revision)
    return current_revision(url)


def current_revision(url: str | None = None) -> str | None:
    engine = create_engine(sqlalchemy_url(url or database_url()), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_schema("ops"):
                return None
            context = MigrationContext.configure(connection, opts={"version_table_schema": "ops"})
            return context.get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("postgresql://unused/unused")).get_current_head()
