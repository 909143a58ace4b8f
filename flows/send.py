"""Flow `send`: queue the notifications dbt found due, then dispatch them through the outbox."""

from __future__ import annotations

from prefect import flow, get_run_logger

from notifications.service import send as run_send
from vnotify.config import load_config
from warehouse.database import database_url


@flow(name="send")
def send(limit: int | None = None, workers: int = 2) -> dict:
    result = run_send(database_url(), load_config(), limit=limit, workers=workers).as_dict()
    get_run_logger().info(
        "send: queued %s, outcomes %s, outbox %s",
        result["queued"],
        result["dispatch"]["outcomes"],
        result["outbox"],
    )
    return result
