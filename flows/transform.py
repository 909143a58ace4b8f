"""Flow `transform`: check any batch not yet checked, normalize new contacts, then `dbt build` with
each dbt node as its own Prefect task (prefect-dbt's PrefectDbtRunner)."""

from __future__ import annotations

from prefect import flow, get_run_logger

from ingest.run import check_pending_batches
from warehouse.transform import DBT_DIR
from warehouse.transform import transform as run_transform


@flow(name="transform")
def transform(full_refresh: bool = False, as_of: str | None = None) -> dict:
    from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

    held = check_pending_batches()
    if held:
        get_run_logger().warning("batches %s failed their checks: nothing of them is used", held)
    runner = PrefectDbtRunner(
        settings=PrefectDbtSettings(project_dir=DBT_DIR, profiles_dir=DBT_DIR),
        raise_on_failure=False,
    )
    result = run_transform(full_refresh=full_refresh, as_of=as_of, runner=runner)
    get_run_logger().info("transform: %s", result.nodes)
    if not result.success:
        raise RuntimeError(f"dbt build failed: {', '.join(result.failures) or 'see the dbt log'}")
    return result.as_dict()
