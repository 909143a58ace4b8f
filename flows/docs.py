"""Flow `docs`: nightly documentation of the warehouse, in one folder: dbt's site (models,
columns, tests, lineage) in `<out>/dbt` and the Great Expectations Data Docs (each batch's
checks) in `<out>/gx`. `out_dir` defaults to `<VNOTIFY_HOME>/docs` (.vnotify/docs)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from expectations.docs import build_data_docs
from vnotify.paths import project_home
from warehouse.docs import generate_dbt_docs


def docs_dir(out_dir: str | None = None) -> Path:
    return Path(out_dir).expanduser() if out_dir else project_home() / "docs"


@task(name="dbt docs generate")
def dbt_docs(folder: Path) -> str:
    return str(generate_dbt_docs(folder))


@task(name="Great Expectations Data Docs")
def data_docs(folder: Path) -> str:
    return str(build_data_docs(folder))


@flow(name="docs", timeout_seconds=1800)
def docs(out_dir: str | None = None) -> dict:
    folder = docs_dir(out_dir)
    written = {"dbt": dbt_docs(folder / "dbt"), "gx": data_docs(folder / "gx")}
    get_run_logger().info("docs: dbt %s, Data Docs %s", written["dbt"], written["gx"])
    return written
