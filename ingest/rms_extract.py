"""Read the agency's RMS database from a watermark, without ever losing or double-loading a run.

Each run reads the rows changed since the watermark less an overlap (rows the RMS commits late
carry an `updated_at` earlier than the newest one already read), drops what was already loaded
(a report version is known by report number and `updated_at`, a CAD call by its content), and
ingests the rest as one contract-CSV delivery. The watermark only passes a run whose delivery
loaded and passed its expectations: a held run is read again by the next one, and
`vnotify extract replay` reads from any earlier time. The files are written to a private
temporary folder and removed; an agency that wants audit copies gets them in its own folder,
owner-only, and retention removes them (ingest.audit_copies).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import psycopg.rows
import sqlalchemy as sa
from psycopg import sql
from psycopg.types.json import Jsonb

from ingest.audit_copies import keep_audit_copy
from ingest.contract import table_spec
from ingest.loader import BatchResult
from ingest.run import ingest_path
from vnotify.config import AgencyConfig, SqlExtract, load_config
from warehouse.database import database_url

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# A batch (alias b) whose rows the warehouse uses: loaded, passed, and so did all of its delivery.
USED_BATCH = sql.SQL("""(b.status = 'loaded' AND b.expectations_passed AND NOT EXISTS (
    SELECT 1 FROM ops.ingest_batches AS other
    WHERE other.delivery_id = b.delivery_id AND other.expectations_passed IS NOT TRUE))""")


class ExtractHeld(RuntimeError):
    """The run's delivery was rejected or failed its expectations: the watermark stays put."""


@dataclass
class ExtractRun:
    source_name: str
    read_since: dt.datetime
    watermark: dt.datetime | None  # the watermark after the run
    outcome: str  # advanced | nothing_new | held
    rows_read: dict[str, int] = field(default_factory=dict)
    rows_already_loaded: int = 0
    results: list[BatchResult] = field(default_factory=list)
    reason: str | None = None
    audit_copy: Path | None = None


def watermark_parameters(since: dt.datetime, zone) -> dict[str, dt.datetime]:
    """What a query may compare with: `:watermark` (timezone-aware, for timestamptz columns),
    `:watermark_local` (naive, agency time, for columns that store local times without a zone)
    and `:watermark_utc` (naive, UTC)."""
    return {
        "watermark": since.astimezone(dt.UTC),
        "watermark_local": since.astimezone(zone).replace(tzinfo=None),
        "watermark_utc": since.astimezone(dt.UTC).replace(tzinfo=None),
    }


def extract_sql(
    extract: SqlExtract,
    *,
    config: AgencyConfig | None = None,
    url: str | None = None,
    since: dt.datetime | None = None,
) -> ExtractRun:
    """One run of the RMS queries (from `since` instead of the watermark when given: a replay).
    Returns what it read and did; raises nothing for a held run (the caller decides)."""
    config = config or load_config()
    url = url or database_url()
    rms_url = os.environ.get(extract.url_env)
    if not rms_url:
        raise RuntimeError(f"set {extract.url_env} to the RMS database's SQLAlchemy URL")
    watermark = read_watermark(url, extract.name)
    if since is None:
        since = watermark - dt.timedelta(minutes=extract.overlap_minutes) if watermark else EPOCH
    zone = config.agency.zone
    run = ExtractRun(extract.name, since, watermark, "nothing_new")
    with tempfile.TemporaryDirectory(prefix="vnotify-extract-") as folder:  # mode 0700
        out = Path(folder)
        newest = _export(rms_url, extract, watermark_parameters(since, zone), zone, out, run)
        run.rows_already_loaded = drop_already_loaded(url, out)
        if any(_data_rows(path) for path in out.glob("*.csv")):
            run.results = ingest_path(out, "contract-csv", config=config, url=url)
            run.audit_copy = keep_audit_copy(extract, out, dt.datetime.now(dt.UTC))
    problems = _held_because(run.results)
    if problems:
        run.outcome, run.reason = "held", problems
    elif newest is not None and (watermark is None or newest > watermark):
        run.outcome, run.watermark = "advanced", newest
        _save_watermark(url, extract.name, newest, [r.batch_id for r in run.results if r.batch_id])
    _record_run(url, run)
    return run


def _export(rms_url: str, extract: SqlExtract, params: dict, zone, out: Path, run: ExtractRun):
    newest = None
    engine = sa.create_engine(rms_url)
    try:
        with engine.connect() as rms:
            for table, query in extract.queries.items():
                rows, latest = _export_query(rms, sa.text(query), params, table, out / f"{table}.csv")
                run.rows_read[table] = rows
                if table == "incidents" and latest is not None:
                    latest = latest if latest.tzinfo else latest.replace(tzinfo=zone)
                    newest = latest if newest is None else max(newest, latest)
    finally:
        engine.dispose()
    return newest


def _export_query(rms, query, params: dict, table: str, path: Path) -> tuple[int, dt.datetime | None]:
    latest = None
    rows = 0
    # A query names only the parameters it uses; SQLAlchemy would refuse the others.
    used = {name: value for name, value in params.items() if f":{name}" in query.text}
    result = rms.execution_options(stream_results=True, yield_per=10_000).execute(query, used)
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
                if parsed is not None and (latest is None or _comparable(parsed) > _comparable(latest)):
                    latest = parsed
    return rows, latest


def _comparable(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def drop_already_loaded(url: str, folder: Path) -> int:
    """Remove from the exported files what an earlier run already loaded (an overlap or a
    replay reads it again): every row of a report whose incident versions are all loaded, and
    CAD calls identical to a loaded row. Returns how many rows were dropped."""
    incidents = _read(folder / "incidents.csv")
    if incidents is None:
        return 0
    versions = {(row.get("report_number", ""), row.get("updated_at", "")) for row in incidents[1]}
    with psycopg.connect(url) as conn:
        loaded = set(
            conn.execute(
                sql.SQL(
                    "SELECT DISTINCT i.report_number, i.updated_at"
                    " FROM raw.incidents AS i JOIN ops.ingest_batches AS b USING (batch_id)"
                    " WHERE {} AND i.report_number = ANY(%s)"
                ).format(USED_BATCH),
                ([number for number, _ in versions],),
            ).fetchall()
        )
        calls = _read(folder / "cad_calls.csv")
        known_calls = _loaded_calls(conn, calls) if calls else set()
    new_reports = {number for number, updated_at in versions if (number, updated_at) not in loaded}
    dropped = 0
    for table in ("incidents", "offenses", "persons"):
        dropped += _rewrite(folder / f"{table}.csv", lambda row: row.get("report_number") in new_reports)
    if calls:
        header = calls[0]
        dropped += _rewrite(
            folder / "cad_calls.csv", lambda row: tuple(row.get(c, "") for c in header) not in known_calls
        )
    return dropped


def _loaded_calls(conn: psycopg.Connection, calls: tuple[list[str], list[dict]]) -> set[tuple]:
    """The exported calls' contents as loaded before (only columns the contract knows)."""
    header, rows = calls
    known = {column.name for column in table_spec("cad_calls").columns}
    if not set(header) <= known:
        return set()  # a column the contract does not know: let the loader judge the file
    query = sql.SQL(
        "SELECT {} FROM raw.cad_calls AS c JOIN ops.ingest_batches AS b USING (batch_id)"
        " WHERE {} AND c.call_number = ANY(%s)"
    ).format(
        sql.SQL(", ").join(sql.SQL("coalesce(c.{}, '')").format(sql.Identifier(name)) for name in header),
        USED_BATCH,
    )
    return {tuple(found) for found in conn.execute(query, ([row.get("call_number", "") for row in rows],))}


def _read(path: Path) -> tuple[list[str], list[dict]] | None:
    if not path.exists():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _rewrite(path: Path, keep) -> int:
    read = _read(path)
    if read is None:
        return 0
    header, rows = read
    kept = [row for row in rows if keep(row)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)
    return len(rows) - len(kept)


def _data_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def _held_because(results: list[BatchResult]) -> str | None:
    rejected = [r for r in results if r.status == "rejected"]
    if rejected:
        return "rejected: " + "; ".join(f"{Path(r.source).name}: {r.reason}" for r in rejected)
    failed = [r.batch_id for r in results if r.expectations_passed is False]
    if failed:
        return f"batches {failed} failed their expectations"
    return None


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


def read_watermark(url: str, name: str) -> dt.datetime | None:
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


def _record_run(url: str, run: ExtractRun) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            """
            INSERT INTO ops.extract_runs
              (source_name, read_since, watermark, rows_read, rows_already_loaded, batch_ids, outcome, reason)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
            """,
            (
                run.source_name,
                run.read_since,
                run.watermark,
                Jsonb(run.rows_read),
                run.rows_already_loaded,
                [r.batch_id for r in run.results if r.batch_id],
                run.outcome,
                run.reason,
            ),
        )


def extract_status(url: str | None = None, limit: int = 10) -> list[dict]:
    """The newest runs of every SQL source, newest first, with the current watermark."""
    with (
        psycopg.connect(url or database_url()) as conn,
        conn.cursor(row_factory=psycopg.rows.dict_row) as cur,
    ):
        return cur.execute(
            """
            SELECT r.source_name, r.run_id, r.started_at, r.read_since, r.rows_read,
                   r.rows_already_loaded, r.batch_ids, r.outcome, r.reason, w.watermark AS current_watermark
            FROM (SELECT *, row_number() OVER (PARTITION BY source_name ORDER BY run_id DESC) AS n
                  FROM ops.extract_runs) AS r
            LEFT JOIN ops.extract_watermarks AS w USING (source_name)
            WHERE r.n <= %s ORDER BY r.source_name, r.run_id DESC
            """,
            (limit,),
        ).fetchall()


@dataclass(frozen=True)
class QueryProbe:
    table: str
    columns: list[str]
    rows: int | None  # rows the query returns from the current watermark (less the overlap)
    missing: list[str]  # required contract columns the query does not return
    unknown: list[str]  # columns the contract does not know (the loader would refuse them)
    error: str | None = None


def probe_queries(extract: SqlExtract, *, url: str | None, zone) -> list[QueryProbe]:
    """Run each query once against the RMS, read-only, and report its columns and row count
    (from the stored watermark less the overlap, or from the beginning). Nothing is loaded."""
    rms_url = os.environ.get(extract.url_env)
    if not rms_url:
        raise RuntimeError(f"set {extract.url_env} to the RMS database's SQLAlchemy URL")
    watermark = read_watermark(url, extract.name) if url else None
    since = watermark - dt.timedelta(minutes=extract.overlap_minutes) if watermark else EPOCH
    params = watermark_parameters(since, zone)
    probes = []
    engine = sa.create_engine(rms_url)
    try:
        for table, query in extract.queries.items():
            spec = table_spec(table)
            used = {name: value for name, value in params.items() if f":{name}" in query}
            try:
                # Read-only where the database can say so; rolled back everywhere.
                with engine.connect().execution_options(postgresql_readonly=True) as rms, rms.begin() as tx:
                    result = rms.execute(sa.text(query), used)
                    columns = list(result.keys())
                    rows = sum(1 for _ in result)
                    tx.rollback()
            except sa.exc.SQLAlchemyError as error:
                probes.append(QueryProbe(table, [], None, [], [], error=type(error.orig or error).__name__))
                continue
            known = {column.name for column in spec.columns}
            required = [column.name for column in spec.columns if column.required]
            probes.append(
                QueryProbe(
                    table,
                    columns,
                    rows,
                    missing=[name for name in required if name not in columns],
                    unknown=[name for name in columns if name not in known],
                )
            )
    finally:
        engine.dispose()
    return probes
