"""dbt's documentation site for the warehouse: models, columns, tests and lineage, with the
catalog (types, row counts) read from the configured database. Written by the nightly `docs` flow."""

from __future__ import annotations

import json
from pathlib import Path

from vnotify.config import AgencyConfig, load_config
from warehouse.database import database_url
from warehouse.transform import DBT_DIR, _environment, dbt_environment, dbt_vars


class DocsFailed(RuntimeError):
    """dbt could not generate its documentation."""


def generate_dbt_docs(out_dir: Path, *, url: str | None = None, config: AgencyConfig | None = None) -> Path:
    """`dbt docs generate --static` into `out_dir` (its own target path, so a transform running
    at the same time keeps dbt/target to itself). Returns static_index.html: one self-contained
    page that opens from disk; index.html with manifest.json and catalog.json beside it is the
    same site for `dbt docs serve`-style hosting."""
    from dbt.cli.main import dbtRunner

    out_dir.mkdir(parents=True, exist_ok=True)
    config = config or load_config()
    with _environment(dbt_environment(url or database_url())):
        outcome = dbtRunner().invoke(
            [
                "docs",
                "generate",
                "--static",
                "--write-json",  # the site is these files
                "--vars",
                json.dumps(dbt_vars(config)),
                "--project-dir",
                str(DBT_DIR),
                "--profiles-dir",
                str(DBT_DIR),
                "--target-path",
                str(out_dir),
                "--log-level",
                "error",
            ]
        )
    if not outcome.success:
        name = type(outcome.exception).__name__ if outcome.exception else "see the dbt log"
        raise DocsFailed(f"dbt docs generate failed: {name}")
    return out_dir / "static_index.html"
