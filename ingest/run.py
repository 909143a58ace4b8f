"""Ingest a path, a drop folder or an RMS query: plain functions the CLI and the flow share."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import psycopg
import sqlalchemy as sa

from ingest.loader import BatchResult, load_source
from ingest.sources import sources_for
from vnotify.config import AgencyConfig, SqlExtract, load_config
from vnotify.paths import project_home
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
) -> list[BatchResult]:
    """Load every source at PATH, one batch each. Raises FileRejected only when PATH itself
    cannot be read as FORMAT; a bad file inside a folder becomes a rejected batch."""
    from ingest.records import FileRejected

    config = config or load_config()
    url = url or database_url()
    sources = sources_for(Path(path), format, mapping=mapping, config=config)
    results = []
    for done, source in enumerate(sources):
        if on_progress:
            on_progress(done, len(sources), source.name)
        try:
            results.append(load_source(source, url, config.agency.time_zone))
        except FileRejected as rejection:  # raised while constructing a lazily checked source
            results.append(
                BatchResult("rejected", source.name, source.format, None, "", reason=str(rejection))
            )
    if on_progress:
        on_progress(len(sources), len(sources), "done")
    return results


def drain_drop_folder(folder: Path, format: str, *, mapping: Path | None = None, config=None, url=None):
    """Ingest what sits in FOLDER, then move each file to loaded/ or rejected/ beside it."""
    folder = Path(folder)
    (folder / "loaded").mkdir(parents=True, exist_ok=True)
    (folder / "rejected").mkdir(parents=True, exist_ok=True)
    pending = [p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")]
    if not pending:
        return []
    results = []
    for path in pending:
        from ingest.records import FileRejected

        try:
            batch = ingest_path(path, format, mapping=mapping, config=config, url=url)
        except FileRejected as rejection:
            batch = [BatchResult("rejected", str(path), format, None, "", reason=str(rejection))]
        results += batch
        outcome = "rejected" if any(r.status == "rejected" for r in batch) else "loaded"
        shutil.move(path, folder / outcome / path.name)
    return results


def extract_sql(
    extract: SqlExtract,
    *,
    config: AgencyConfig | None = None,
    url: str | None = None,
    out: Path | None = None,
) -> list[BatchResult]:
    """Run the agency's RMS queries for rows changed since the last watermark, write them as
    contract CSV files (kept as an audit trail), ingest them, and advance the watermark."""
    config = config or load_config()
    url = url or database_url()
    rms_url = os.environ.get(extract.url_env)
    if not rms_url:
        raise RuntimeError(f"set {extract.url_env} to the RMS database's SQLAlchemy URL")
    watermark = _watermark(url, extract.name) or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    out = out or project_home() / "extract" / extract.name / dt.datetime.now(dt.UTC).strftime(
        "%Y%m%dT%H%M%S%f"
    )
    out.mkdir(parents=True, exist_ok=True)
    zone = config.agency.zone
    local_watermark = watermark.astimezone(zone).replace(tzinfo=None)
    newest = watermark
    engine = sa.create_engine(rms_url)
    try:
        with engine.connect() as rms:
            for table, query in extract.queries.items():
                _, latest = _export_query(rms, sa.text(query), local_watermark, table, out / f"{table}.csv")
                if table == "incidents" and latest is not None:
                    newest = max(newest, _as_aware(latest, zone))
    finally:
        engine.dispose()
    results = ingest_path(out, "contract-csv", config=config, url=url)
    if all(r.status != "rejected" for r in results) and newest > watermark:
        _save_watermark(url, extract.name, newest, [r.batch_id for r in results if r.batch_id])
    return results


def _export_query(
    rms, query, watermark: dt.datetime, table: str, path: Path
) -> tuple[int, dt.datetime | None]:
    latest = None
    rows = 0
    result = rms.execution_options(stream_results=True, yield_per=10_000).execute(
        query, {"watermark": watermark}
    )
    names = list(result.keys())
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        for row in result:
            rows += 1
            writer.writerow(["" if v is None else _text(v) for v in row])
            if table == "incidents" and "updated_at" in names:
                value = row[names.index("updated_at")]
                parsed = value if isinstance(value, dt.datetime) else _parse(value)
                if parsed is not None and (latest is None or parsed > latest):
                    latest = parsed
    return rows, latest


def _text(value) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


def _parse(value) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _as_aware(value: dt.datetime, zone) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=zone)


def _watermark(url: str, name: str) -> dt.datetime | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT watermark FROM ops.extract_watermarks WHERE source_name = %s", (name,)
        ).fetchone()
    return row[0] if row else None


def _save_watermark(url: str, name: str, watermark: dt.datetime, batch_ids: list[int]) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            """
            INSERT INTO ops.extract_watermarks (source_name, watermark, batch_ids) VALUES (%s, %s, %s)
            ON CONFLICT (source_name) DO UPDATE
              SET watermark = excluded.watermark, batch_ids = excluded.batch_ids, updated_at = now()
            """,
            (name, watermark, batch_ids),
        )
