"""The Great Expectations Data Docs site, rebuilt from every stored validation result.

GX writes it where great_expectations.yml puts `local_site` (uncommitted/data_docs/local_site/);
`build_data_docs` rebuilds it whole and copies it to a folder of the caller's choosing, so the
nightly `docs` flow keeps it beside dbt's documentation. Results hold counts only, never a value.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from expectations import DATA_DOCS_INDEX, open_context

SITE = "local_site"


def build_data_docs(out_dir: Path, url: str | None = None) -> Path:
    """Rebuild the site from the validation results stored on this machine and copy it to
    `out_dir` (replacing what was there); returns the copy's index.html."""
    from warehouse.database import database_url, sqlalchemy_url

    context = open_context(sqlalchemy_url(url or database_url()))
    context.build_data_docs(site_names=[SITE])
    site = DATA_DOCS_INDEX.parent
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.copytree(site, out_dir)
    return out_dir / DATA_DOCS_INDEX.name
