"""What is wrong with the pipeline right now, from the warehouse and the Prefect API.

Each check returns Problems with a stable key (the same problem found twice is one alert) and a
summary that names runs, batches, counts and times, never a victim's details: alerts go by
e-mail to the data engineers, and an exception's text could quote a row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from vnotify.config import AgencyConfig

# Sends in `unknown` this long are past the reconciliation a healthy dispatcher does.
UNKNOWN_AFTER = dt.timedelta(minutes=15)
BAD_RUN_STATES = ("FAILED", "CRASHED", "CANCELLED")


@dataclass(frozen=True)
class Problem:
    key: str  # stable: the same problem found again is the same alert
    kind: str  # flow_run | late_run | held_batch | extract_held | stale_export | unknown_backlog
    summary: str


def warehouse_problems(conn: psycopg.Connection, config: AgencyConfig, now: dt.datetime) -> list[Problem]:
    """Held batches, held RMS runs, a stale export and a backlog of unknown sends."""
    since = now - dt.timedelta(hours=config.operations.lookback_hours)
    problems = [
        Problem(
            f"held_batch:{batch_id}",
            "held_batch",
            f"batch {batch_id} ({source.rsplit('/', 1)[-1]}, loaded {started:%Y-%m-%d %H:%M} UTC) "
            + ("was rejected" if status == "rejected" else "failed its expectations")
            + ": its delivery is held (vnotify quarantine list; docs/runbook.md)",
        )
        for batch_id, source, status, started in conn.execute(
            """
            SELECT batch_id, source_name, status, started_at FROM ops.ingest_batches
            WHERE started_at >= %s AND (status = 'rejected' OR expectations_passed IS FALSE)
            ORDER BY batch_id
            """,
            (since,),
        )
    ]
    held = conn.execute(
        """
        SELECT DISTINCT ON (source_name) source_name, outcome, started_at FROM ops.extract_runs
        ORDER BY source_name, run_id DESC
        """
    ).fetchall()
    problems += [
        Problem(
            f"extract_held:{source}",
            "extract_held",
            f"the RMS extract {source!r} is held since {started:%Y-%m-%d %H:%M} UTC: its watermark "
            "waits until the delivery loads (vnotify extract status)",
        )
        for source, outcome, started in held
        if outcome == "held"
    ]
    (newest,) = conn.execute(
        "SELECT max(started_at) FROM ops.ingest_batches WHERE status = 'loaded' AND expectations_passed"
    ).fetchone()
    stale_after = dt.timedelta(hours=config.extract.stale_after_hours)
    if newest is not None and now - newest > stale_after:
        problems.append(
            Problem(
                "stale_export",
                "stale_export",
                f"no export has loaded since {newest:%Y-%m-%d %H:%M} UTC "
                f"(extract.stale_after_hours is {config.extract.stale_after_hours:g})",
            )
        )
    (unknown,) = conn.execute(
        "SELECT count(*) FROM ops.outbox WHERE state = 'unknown' AND updated_at < %s", (now - UNKNOWN_AFTER,)
    ).fetchone()
    if unknown > config.operations.unknown_backlog_alert:
        problems.append(
            Problem(
                "unknown_backlog",
                "unknown_backlog",
                f"{unknown} sends have waited in 'unknown' for over 15 minutes: the dispatcher cannot "
                "reconcile them (docs/runbook.md, 'unknown outbox rows')",
            )
        )
    return problems


def prefect_problems(now: dt.datetime, lookback: dt.timedelta) -> list[Problem]:
    """Flow runs that ended Failed, Crashed or Cancelled (a timeout is Failed) in the lookback,
    and scheduled runs that are Late (no worker took them)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterState,
        FlowRunFilterStateName,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    since = now - lookback
    with get_client(sync_client=True) as client:
        ended = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType(s) for s in BAD_RUN_STATES])
                ),
                expected_start_time=FlowRunFilterExpectedStartTime(after_=since),
            ),
            limit=200,
        )
        late = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Late"])),
                expected_start_time=FlowRunFilterExpectedStartTime(after_=since),
            ),
            limit=200,
        )
        names = {d.id: d.name for d in client.read_deployments()}
    problems = []
    for run in ended:
        state = run.state.name if run.state else "?"
        deployment = names.get(run.deployment_id, "no deployment")
        problems.append(
            Problem(
                f"flow_run:{run.id}:{run.state.type.value if run.state else '?'}",
                "flow_run",
                f"{deployment} run {run.name} ({run.id}) ended {state}"
                + (f" at {run.state.timestamp:%Y-%m-%d %H:%M} UTC" if run.state else ""),
            )
        )
    for run in late:
        deployment = names.get(run.deployment_id, "no deployment")
        problems.append(
            Problem(
                f"late_run:{run.id}",
                "late_run",
                f"{deployment} run {run.name} ({run.id}) is late: due "
                f"{run.expected_start_time:%Y-%m-%d %H:%M} UTC and no worker has taken it",
            )
        )
    return problems
