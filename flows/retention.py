"""Flow `retention`: remove the contact details of reports past `agency.retention_days` (nightly)."""

from __future__ import annotations

from prefect import flow, get_run_logger

from vnotify.config import load_config
from warehouse.database import database_url
from warehouse.retention import apply_retention


@flow(name="retention", timeout_seconds=3600)
def retention(dry_run: bool = False) -> dict:
    result = apply_retention(database_url(), load_config(), dry_run=dry_run).as_dict()
    # Counts only: nothing here names a person.
    get_run_logger().info(
        "retention%s: %s reports past %s days, %s rows changed %s",
        " (dry run)" if dry_run else "",
        result["reports_past_retention"],
        result["retention_days"],
        result["rows_changed"],
        {table: n for table, n in result["rows"].items() if n},
    )
    return result
