"""Ingest a path or a drop folder: plain functions the CLI, the flows and the RMS extract share."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import psycopg

from ingest.loader import BatchResult, content_hash, load_source
from ingest.records import FileRejected, Source
from ingest.sources import deliveries_for, group_delivery_files, sources_for
from vnotify.config import AgencyConfig, load_config
from warehouse.database import database_url

Progress = Callable[[int, int, str], None]


def ingest_path(
    path: Path,
    format: str,
    *,
    mapping: Path | None = None,
    config: AgencyConfig | None = None,
    url: str | None = None,
    on_progress: Progress | None = None,
    check: bool = True,
) -> list[BatchResult]:
    """Load every source at PATH, one batch each, grouped in deliveries (ingest.sources), and
    check each new batch with its expectations unless `check` is False (then staging ignores
    it until `check_pending_batches` runs). Raises FileRejected only when PATH itself cannot be
    read as FORMAT; a bad file inside a folder becomes a rejected batch."""
    config = config or load_config()
    url = url or database_url()
    deliveries = deliveries_for(Path(path), format, mapping=mapping, config=config)
    return load_deliveries(deliveries, config=config, url=url, on_progress=on_progress, check=check)


def load_deliveries(
    deliveries: list[list[Source]],
    *,
    config: AgencyConfig,
    url: str,
    on_progress: Progress | None = None,
    check: bool = True,
) -> list[BatchResult]:
    """Load each delivery's sources as batches sharing one delivery id, then check them."""
    total = sum(len(sources) for sources in deliveries)
    results: list[BatchResult] = []
    for sources in deliveries:
        delivery_id, delivery_sha = None, None
        if len(sources) > 1:
            delivery_id, delivery_sha = _new_delivery_id(url), _delivery_hash(sources)
        for source in sources:
            if on_progress:
                on_progress(len(results), total, source.name)
            results.append(load_source(source, url, config.agency.time_zone, delivery_id, delivery_sha))
    if check:
        check_batches(results, url=url, config=config)
    if on_progress:
        on_progress(total, total, "done")
    return results


def check_batches(results: list[BatchResult], *, url: str, config: AgencyConfig) -> None:
    """Run the expectations of every batch just loaded (and of a re-delivered one that has no
    passing verdict yet), writing the verdict onto each result. Until a batch passes, staging
    uses nothing of its delivery."""
    from expectations.run import validate_batch

    for result in results:
        if result.batch_id is None or result.status == "rejected":
            continue
        if result.status == "no_op" and _verdict(url, result.batch_id) is True:
            result.expectations_passed = True
            continue
        outcome = validate_batch(
            result.batch_id,
            url,
            build_docs=False,
            max_quarantined_share=config.ingest.max_quarantined_share,
        )
        result.expectations_passed = outcome.success
        result.expectations_failed = outcome.failure_lines()


def check_pending_batches(*, url: str | None = None, config: AgencyConfig | None = None) -> list[int]:
    """Check every loaded batch that has no verdict yet (landed with check=False, or before an
    upgrade); returns the ids of those that failed."""
    from expectations.run import validate_batch

    url = url or database_url()
    config = config or load_config()
    with psycopg.connect(url) as conn:
        pending = [
            row[0]
            for row in conn.execute(
                "SELECT batch_id FROM ops.ingest_batches"
                " WHERE status = 'loaded' AND expectations_passed IS NULL ORDER BY batch_id"
            )
        ]
    return [
        batch_id
        for batch_id in pending
        if not validate_batch(
            batch_id, url, build_docs=False, max_quarantined_share=config.ingest.max_quarantined_share
        ).success
    ]


def _delivery_hash(sources: list[Source]) -> str:
    """The content of a delivery's files together: a file is new whenever its delivery is."""
    digest = hashlib.sha256()
    for sha in sorted(content_hash(source) for source in sources):
        digest.update(sha.encode())
    return digest.hexdigest()


def _new_delivery_id(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT nextval('ops.ingest_delivery_id')").fetchone()[0]


def _verdict(url: str, batch_id: int) -> bool | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT expectations_passed FROM ops.ingest_batches WHERE batch_id = %s", (batch_id,)
        ).fetchone()
    return row[0] if row else None


def drain_drop_folder(folder: Path, format: str, *, mapping: Path | None = None, config=None, url=None):
    """Ingest what sits in FOLDER, one delivery at a time (contract CSV files written together
    are one delivery), then move each file to loaded/ or rejected/ beside it. A file whose
    delivery failed its expectations stays loaded: its batches are held, not used."""
    folder = Path(folder)
    config = config or load_config()
    url = url or database_url()
    (folder / "loaded").mkdir(parents=True, exist_ok=True)
    (folder / "rejected").mkdir(parents=True, exist_ok=True)
    pending = [p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")]
    results: list[BatchResult] = []
    for paths in group_delivery_files(pending, format):
        try:
            deliveries = [
                [
                    source
                    for path in paths
                    for source in sources_for(path, format, mapping=mapping, config=config)
                ]
            ]
            batch = load_deliveries(deliveries, config=config, url=url)
        except FileRejected as rejection:
            batch = [BatchResult("rejected", str(p), format, None, "", reason=str(rejection)) for p in paths]
        results += batch
        outcome = "rejected" if any(r.status == "rejected" for r in batch) else "loaded"
        for path in paths:
            shutil.move(path, folder / outcome / path.name)
    return results
