"""Flow `watch`: every five minutes, look for what went wrong (failed, crashed, cancelled or late
runs, held batches, a stale export, a backlog of unknown sends) and e-mail the data engineers
(monitoring.alerts). Counts and identifiers only: an alert never carries a victim's details."""

from __future__ import annotations

from prefect import flow, get_run_logger

from monitoring.alerts import check_and_alert
from vnotify.config import load_config
from warehouse.database import database_url


@flow(name="watch", timeout_seconds=300)
def watch() -> dict:
    result = check_and_alert(database_url(), load_config()).as_dict()
    get_run_logger().info(
        "watch: %s problems, %s alerted to %s contacts",
        len(result["found"]),
        len(result["sent"]),
        result["recipients"],
    )
    return result
