"""What the Prefect server needs besides the deployments: the automation that marks a flow run
whose process died (its heartbeats stopped) Crashed, Prefect's own answer to a killed worker.
A Crashed run is terminal: it frees its deployment's concurrency slot, and `watch` alerts on it.

Flow runs send a heartbeat every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds (at least 30; the
environment template sets 30); a run silent for ZOMBIE_AFTER is declared dead."""

from __future__ import annotations

import datetime as dt

ZOMBIE_AUTOMATION = "vnotify: mark runs whose process died Crashed"


def ensure_zombie_automation(within: dt.timedelta = dt.timedelta(seconds=120)) -> str:
    """Create the automation unless one of that name exists; returns its id."""
    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    try:
        existing = Automation.read(name=ZOMBIE_AUTOMATION)
    except ValueError:  # none of that name
        existing = None
    if existing is not None:
        return str(existing.id)
    automation = Automation(
        name=ZOMBIE_AUTOMATION,
        description="A flow run that sent no heartbeat for a while is no longer running: mark it Crashed.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=within,
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message="No heartbeat: the process running this flow run died (vnotify zombie automation).",
            )
        ],
    )
    return str(automation.create().id)
