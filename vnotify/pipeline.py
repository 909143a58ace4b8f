"""One pass of the notification pipeline, as the `notify` deployment runs it: land new exports,
check them, rebuild the warehouse, send what is due. `vnotify run --every` repeats it."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from vnotify.config import AgencyConfig


@dataclass
class CycleResult:
    batches_loaded: int = 0
    batches_rejected: int = 0
    expectations_failed: int = 0
    transformed: bool = False
    sent: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def run_cycle(url: str, config: AgencyConfig, workers: int = 2, as_of: str | None = None) -> CycleResult:
    """Extract → validate → transform → send. Nothing new: no dbt run, a quick send pass.
    `as_of` decides the warehouse as of another moment (tests, replays); default now."""
    from ingest.run import check_pending_batches, drain_drop_folder
    from notifications.service import send
    from warehouse.transform import transform

    started = time.perf_counter()
    result = CycleResult()
    batches = []
    if config.extract.drop_folder is not None:
        batches = drain_drop_folder(config.extract.drop_folder, config.extract.format, config=config, url=url)
    loaded = [batch for batch in batches if batch.status == "loaded"]
    result.batches_loaded = len(loaded)
    result.batches_rejected = sum(batch.status == "rejected" for batch in batches)
    # Each batch was checked as it landed; the warehouse uses nothing of a failed one.
    result.expectations_failed = sum(b.expectations_passed is False for b in batches)
    if loaded and not result.expectations_failed:
        check_pending_batches(url=url, config=config)
        built = transform(url=url, config=config, quiet=True, as_of=as_of)
        if not built.success:
            raise RuntimeError(f"dbt build failed: {', '.join(built.failures)}")
        result.transformed = True
    report = send(url, config, workers=workers)
    result.sent = int(report.dispatch.get("outcomes", {}).get("accepted", 0))
    result.seconds = round(time.perf_counter() - started, 3)
    return result
