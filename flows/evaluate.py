"""Flow `evaluate`: the A/B evaluation from the marts, its report, and its run in analytics.*."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow, get_run_logger

from analytics.run import run_evaluation
from vnotify.config import load_config
from vnotify.paths import project_home
from warehouse.database import database_url


@flow(name="evaluate", timeout_seconds=3600)
def evaluate(out_dir: str | None = None, with_pdf: bool = True) -> dict:
    config = load_config()
    folder = Path(out_dir) if out_dir else project_home() / "evaluation" / dt.date.today().isoformat()
    output = run_evaluation(folder, config, url=database_url(), with_pdf=with_pdf)
    summary = output.summary()
    get_run_logger().info(
        "evaluate: %s rows, run %s, significant %s, report %s",
        summary["rows"],
        summary["run_id"],
        summary["significant"],
        summary["report_html"],
    )
    return summary
