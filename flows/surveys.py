"""Flow `surveys`: queue the survey invitations dbt found due and the reminders that are due,
then send them through the outbox dispatcher (opt-outs and the send window re-checked per message)."""

from __future__ import annotations

from prefect import flow, get_run_logger

from notifications.service import send_surveys
from vnotify.config import load_config
from warehouse.database import database_url


@flow(name="surveys", timeout_seconds=1800)
def surveys(limit: int | None = None, workers: int = 2) -> dict:
    result = send_surveys(database_url(), load_config(), limit=limit, workers=workers).as_dict()
    get_run_logger().info(
        "surveys: invited %s, reminded %s, outcomes %s, outbox %s",
        result["invited"],
        result["reminded"],
        result["dispatch"]["outcomes"],
        result["outbox"],
    )
    return result
