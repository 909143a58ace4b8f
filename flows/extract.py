"""Flow `extract`: land the configured source's new exports; each new batch is checked with Great
Expectations as it lands (ingest.run). A batch that fails its checkpoint fails this run, and the
warehouse uses nothing of its delivery; an RMS run so held keeps its watermark, so the next run
reads it again (ingest.rms_extract)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from ingest.rms_extract import extract_sql
from ingest.run import drain_drop_folder
from vnotify.config import load_config


class ExpectationsFailed(RuntimeError):
    """One or more landed batches broke their expectation suites, or an RMS run was held."""


@task(name="land drop folder")
def land_drop_folder(folder: str, format: str, mapping: str | None) -> list[dict]:
    results = drain_drop_folder(Path(folder), format, mapping=Path(mapping) if mapping else None)
    return [r.as_dict() for r in results]


@task(name="land RMS query", retries=2, retry_delay_seconds=60)
def land_rms_query() -> dict:
    config = load_config()
    run = extract_sql(config.extract.sql, config=config)
    return {
        "batches": [r.as_dict() for r in run.results],
        "outcome": run.outcome,
        "reason": run.reason,
        "rows_already_loaded": run.rows_already_loaded,
    }


@flow(name="extract")
def extract(drop_folder: str | None = None, format: str | None = None, mapping: str | None = None) -> dict:
    """Ingest from the drop folder and/or RMS query in the agency configuration (parameters
    override the drop folder), validate each new batch, and summarise by the numbers."""
    logger = get_run_logger()
    config = load_config()
    settings = config.extract
    folder = drop_folder or (str(settings.drop_folder) if settings.drop_folder else None)
    batches: list[dict] = []
    if folder:
        batches += land_drop_folder(folder, format or settings.format, mapping or _str(settings.mapping))
    held = None
    if settings.sql is not None and drop_folder is None:
        rms = land_rms_query()
        batches += rms["batches"]
        held = rms["reason"] if rms["outcome"] == "held" else None
    loaded = [b for b in batches if b["status"] == "loaded"]
    summary = {
        "batches": len(batches),
        "loaded": len(loaded),
        "no_op": sum(b["status"] == "no_op" for b in batches),
        "rejected": [
            {"source": b["source"], "reason": b["reason"]} for b in batches if b["status"] == "rejected"
        ],
        "rows_read": sum(b["rows_read"] for b in batches),
        "rows_staged": sum(b["rows_staged"] for b in batches),
        "rows_quarantined": sum(b["rows_quarantined"] for b in batches),
        "expectations_failed": [b["batch_id"] for b in batches if b["expectations_passed"] is False],
        "rms_held": held,
    }
    # Counts only: row values can carry names and phone numbers.
    logger.info(
        "extract: %(loaded)s batches loaded, %(rows_staged)s rows staged, %(rows_quarantined)s quarantined",
        summary,
    )
    for rejected in summary["rejected"]:
        logger.warning("rejected %s: %s", Path(rejected["source"]).name, rejected["reason"])
    if held:
        raise ExpectationsFailed(f"RMS extract held, its watermark kept: {held} (vnotify extract status)")
    if summary["expectations_failed"]:
        raise ExpectationsFailed(f"batches {summary['expectations_failed']} failed their expectation suites")
    return summary


def _str(path: Path | None) -> str | None:
    return str(path) if path else None
