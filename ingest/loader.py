"""Land one source in `raw` as one batch: exactly once, in one transaction, nothing lost.

1. Hash the source's content; a source already loaded is a no-op.
2. Under an advisory lock, COPY its rows into `raw.*` (a contract CSV whose header is all
   contract columns streams its bytes straight to COPY; everything else goes through the
   adapter's records, chunked).
3. Move failing rows to `ops.quarantine` with their reasons (ingest/validation.py).
4. Point `ops.report_versions` at each report's newest version (the loader's bookkeeping:
   new and superseded reports; the warehouse picks the winning version from every delivery).
5. Record the batch with its counts, checked: rows read = rows staged + rows quarantined.
A `FileRejected` (or a COPY that proves the file unreadable) rolls everything back and
records a rejected batch with the reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import psycopg
from psycopg import sql

from ingest.contract import EARLIEST_TIMESTAMP, FUTURE_TOLERANCE, table_spec
from ingest.csv_guard import copied_rows_match_lines
from ingest.records import CONTRACT_TABLES, FileRejected, Record, Source
from ingest.validation import (
    quarantine_duplicates_sql,
    quarantine_invalid_sql,
    quarantine_out_of_range_sql,
    trimmed,
)

INGEST_LOCK = 0x766E_6F74  # "vnot": one batch lands at a time (row numbers, supersede order)
CHUNK_ROWS = 5_000
HASH_CHUNK = 1 << 20


@dataclass
class TableCounts:
    read: int = 0
    staged: int = 0
    quarantined: int = 0


@dataclass
class BatchResult:
    status: Literal["loaded", "no_op", "rejected"]
    source: str
    format: str
    batch_id: int | None
    content_sha256: str
    tables: dict[str, TableCounts] = field(default_factory=dict)
    delivery_id: int | None = None
    # Data rows the adapter read from the source (one may make records in several tables).
    source_rows: int | None = None
    # Per table, the most frequent quarantine reasons: {"column", "reason", "rows"}; no values.
    top_reasons: dict[str, list[dict]] = field(default_factory=dict)
    # The expectations verdict (ingest.run.check_batches); None when not checked.
    expectations_passed: bool | None = None
    expectations_failed: list[str] = field(default_factory=list)
    reports_superseded: int = 0
    reports_new: int = 0
    reason: str | None = None
    seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        return sum(t.read for t in self.tables.values())

    @property
    def rows_staged(self) -> int:
        return sum(t.staged for t in self.tables.values())

    @property
    def rows_quarantined(self) -> int:
        return sum(t.quarantined for t in self.tables.values())

    def as_dict(self) -> dict:
        result = asdict(self)
        result.update(
            rows_read=self.rows_read, rows_staged=self.rows_staged, rows_quarantined=self.rows_quarantined
        )
        return result


def content_hash(source: Source) -> str:
    """sha256 over the source's files (names and bytes); for in-memory sources, its records."""
    digest = hashlib.sha256(source.format.encode())
    files = source.content_files()
    for path in sorted(files):
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
    if not files:
        for record in source.records():
            digest.update(json.dumps(asdict(record), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def load_source(
    source: Source,
    url: str,
    time_zone: str,
    delivery_id: int | None = None,
    delivery_sha256: str | None = None,
) -> BatchResult:
    """Load one source as one batch of `delivery_id` (a delivery of its own when None). Never
    raises for bad input: the result says what happened.

    `delivery_sha256` (the hash of every file of a delivery) makes the delivery the unit of
    "already loaded": a file sent again unchanged beside a changed one is loaded again, as part
    of the new version, and a whole delivery sent twice is a no-op."""
    started = time.perf_counter()
    try:
        sha = content_hash(source)
        if delivery_sha256 is not None:
            sha = hashlib.sha256(f"{delivery_sha256}:{sha}".encode()).hexdigest()
    except FileRejected as rejection:  # a source that cannot even be listed (a folder missing a table)
        sha = hashlib.sha256(f"unreadable:{source.name}".encode()).hexdigest()
        result = BatchResult("rejected", source.name, source.format, None, sha, reason=str(rejection))
        result.delivery_id = delivery_id
        with psycopg.connect(url, autocommit=True) as conn:
            result.batch_id = _record_rejection(conn, result)
        return _finish(result, started)
    result = BatchResult("loaded", source.name, source.format, None, sha, delivery_id=delivery_id)
    with psycopg.connect(url, autocommit=True) as conn:
        existing = _loaded_batch(conn, sha)
        if existing is not None:
            result.status, result.batch_id = "no_op", existing
            result.reason = f"already loaded as batch {existing}"
            return _finish(result, started)
        try:
            with conn.transaction():
                _load(conn, source, result, time_zone)
        except FileRejected as rejection:
            result.status, result.reason = "rejected", str(rejection)
            result.tables = {}
            result.batch_id = _record_rejection(conn, result)
        except psycopg.errors.UniqueViolation:
            # Another process loaded the same content while we did: ours rolled back.
            result.status, result.tables = "no_op", {}
            result.batch_id = _loaded_batch(conn, sha)
            result.reason = f"already loaded as batch {result.batch_id}"
    return _finish(result, started)


def _finish(result: BatchResult, started: float) -> BatchResult:
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _loaded_batch(conn: psycopg.Connection, sha: str) -> int | None:
    row = conn.execute(
        "SELECT batch_id FROM ops.ingest_batches WHERE content_sha256 = %s AND status = 'loaded'", (sha,)
    ).fetchone()
    return row[0] if row else None


def _load(conn: psycopg.Connection, source: Source, result: BatchResult, time_zone: str) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (INGEST_LOCK,))
    conn.execute("SET LOCAL work_mem = '64MB'")  # the duplicate check's hash aggregate stays in memory
    batch_id, result.delivery_id = conn.execute(
        """
        INSERT INTO ops.ingest_batches
          (source_format, source_name, content_sha256, status, unavailable_columns, delivery_id)
        VALUES (%s, %s, %s, 'loading', %s, coalesce(%s, nextval('ops.ingest_delivery_id')))
        RETURNING batch_id, delivery_id
        """,
        (
            result.format,
            result.source,
            result.content_sha256,
            sorted(source.unavailable_columns),
            result.delivery_id,
        ),
    ).fetchone()
    result.batch_id = batch_id
    conn.execute("SELECT set_config('vnotify.batch_id', %s, true)", (str(batch_id),))
    for table in CONTRACT_TABLES:
        conn.execute(f"SELECT setval('raw.{table}_row_number', 1, false)")
    counts = {table: TableCounts() for table in CONTRACT_TABLES}

    copied = _copy_file_directly(conn, source, counts)
    if not copied:
        _copy_records(conn, batch_id, source.records(), counts)

    now = dt.datetime.now(dt.UTC)
    params = {"batch_id": batch_id, "earliest": EARLIEST_TIMESTAMP, "latest": now + FUTURE_TOLERANCE}
    for table in CONTRACT_TABLES:
        if counts[table].read == 0:
            continue
        invalid = conn.execute(quarantine_invalid_sql(table, source.unavailable_columns), params).rowcount
        if out_of_range := quarantine_out_of_range_sql(table):
            invalid += conn.execute(out_of_range, params).rowcount
        duplicates = conn.execute(quarantine_duplicates_sql(table), params).rowcount
        counts[table].quarantined += invalid + duplicates
    _verify_accounting(conn, batch_id, counts)
    result.top_reasons = _top_reasons(conn, batch_id)
    result.source_rows = getattr(source, "source_rows", None) or sum(c.read for c in counts.values())
    if counts["incidents"].staged:
        result.reports_new, result.reports_superseded = _advance_report_versions(conn, batch_id, time_zone)
    result.tables = {table: c for table, c in counts.items() if c.read}
    _record_batch(conn, result)


def _copy_file_directly(conn: psycopg.Connection, source: Source, counts: dict[str, TableCounts]) -> bool:
    """The fast path: stream a contract CSV's bytes to COPY. False when the source needs records."""
    plan = getattr(source, "direct_copy_plan", None)
    layout = plan() if plan else None
    if layout is None:
        return False
    table, columns, path = layout
    statement = sql.SQL("COPY raw.{} ({}) FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    newlines, last = 0, b"\n"
    try:
        with conn.transaction(), conn.cursor() as cursor:
            with cursor.copy(statement) as copy, path.open("rb") as handle:
                while chunk := handle.read(HASH_CHUNK):
                    newlines += chunk.count(b"\n")
                    last = chunk[-1:]
                    copy.write(chunk)
            if not copied_rows_match_lines(newlines, cursor.rowcount, last == b"\n"):
                raise _ReadRowByRow  # a value spans lines, or COPY read a stray quote its own way
            counts[table].read = cursor.rowcount
    except (psycopg.errors.BadCopyFileFormat, psycopg.errors.CharacterNotInRepertoire, _ReadRowByRow):
        # A ragged row, a stray quote or a NUL byte: read it row by row so only the bad rows
        # are quarantined (and a file that is not UTF-8, or one a quote swallows, is rejected
        # with its line number).
        conn.execute(f"SELECT setval('raw.{table}_row_number', 1, false)")
        return False
    return True


class _ReadRowByRow(Exception):
    """COPY's rows do not match the file's lines: roll its rows back and read the file again."""


def _copy_records(
    conn: psycopg.Connection, batch_id: int, records: Iterable[Record], counts: dict[str, TableCounts]
) -> None:
    buffers: dict[str, list[Record]] = {table: [] for table in CONTRACT_TABLES}
    unreadable: list[Record] = []
    for record in records:
        counts[record.table].read += 1
        if record.problem is None and _has_nul(record):
            # PostgreSQL text cannot hold U+0000.
            record = replace(record, problem="row contains a NUL character")
        if record.problem:
            unreadable.append(record)
            continue
        buffer = buffers[record.table]
        buffer.append(record)
        if len(buffer) >= CHUNK_ROWS:
            _copy_chunk(conn, batch_id, record.table, buffer)
            buffer.clear()
        if len(unreadable) >= CHUNK_ROWS:
            counts_by_table = _quarantine_unreadable(conn, batch_id, unreadable)
            for table, n in counts_by_table.items():
                counts[table].quarantined += n
            unreadable.clear()
    for table, buffer in buffers.items():
        if buffer:
            _copy_chunk(conn, batch_id, table, buffer)
    for table, n in _quarantine_unreadable(conn, batch_id, unreadable).items():
        counts[table].quarantined += n


def _copy_chunk(conn: psycopg.Connection, batch_id: int, table: str, records: list[Record]) -> None:
    columns = table_spec(table).column_names
    extra_columns = ("record_action", "extra") if table == "incidents" else ("extra",)
    statement = sql.SQL("COPY raw.{} ({}) FROM STDIN").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, ("batch_id", "row_number", *columns, *extra_columns))),
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for record in records:
            values = [record.values.get(column) for column in columns]
            trailer = [json.dumps(record.extra) if record.extra else None]
            if table == "incidents":
                trailer.insert(0, record.action)
            copy.write_row([batch_id, record.row_number, *values, *trailer])


def _quarantine_unreadable(conn: psycopg.Connection, batch_id: int, records: list[Record]) -> dict[str, int]:
    if not records:
        return {}
    with conn.cursor() as cursor:
        cursor.executemany(
            """
            INSERT INTO ops.quarantine (batch_id, table_name, row_number, column_name, reason, raw_row)
            VALUES (%s, %s, %s, NULL, %s, %s)
            """,
            [
                (
                    batch_id,
                    r.table,
                    r.row_number,
                    r.problem,
                    _raw_row_json(r),
                )
                for r in records
            ],
        )
    by_table: dict[str, int] = {}
    for record in records:
        by_table[record.table] = by_table.get(record.table, 0) + 1
    return by_table


def _has_nul(record: Record) -> bool:
    cells = [*record.values.values(), *(record.extra or {}).values(), *(record.extra or {})]
    return any(cell and "\x00" in cell for cell in cells)


def _raw_row_json(record: Record) -> str:
    """The row as received, for review; U+0000 (which jsonb cannot hold) shown as U+FFFD."""
    row = {**record.values, **(record.extra or {})}
    return json.dumps(
        {k.replace("\x00", "\ufffd"): v.replace("\x00", "\ufffd") if v else v for k, v in row.items()}
    )


def _verify_accounting(conn: psycopg.Connection, batch_id: int, counts: dict[str, TableCounts]) -> None:
    """Count what actually landed; any row neither staged nor quarantined aborts the batch."""
    for table, table_counts in counts.items():
        if not table_counts.read:
            continue
        staged = conn.execute(
            f"SELECT count(*) FROM raw.{table} WHERE batch_id = %s", (batch_id,)
        ).fetchone()[0]
        quarantined = conn.execute(
            "SELECT count(*) FROM ops.quarantine WHERE batch_id = %s AND table_name = %s", (batch_id, table)
        ).fetchone()[0]
        table_counts.staged = staged
        if staged + quarantined != table_counts.read or quarantined != table_counts.quarantined:
            raise RuntimeError(
                f"batch {batch_id} {table}: read {table_counts.read}, staged {staged}, "
                f"quarantined {quarantined}: rows unaccounted for; nothing was loaded"
            )


TOP_REASONS = 5


def _top_reasons(conn: psycopg.Connection, batch_id: int) -> dict[str, list[dict]]:
    """Per table, the quarantine reasons most rows share (a row's reasons counted apart)."""
    rows = conn.execute(
        """
        SELECT table_name, column_name, one_reason, rows FROM (
          SELECT q.table_name, q.column_name, r.one_reason, count(*) AS rows,
                 row_number() OVER (PARTITION BY q.table_name ORDER BY count(*) DESC, r.one_reason) AS rank
          FROM ops.quarantine AS q, unnest(string_to_array(q.reason, '; ')) AS r (one_reason)
          WHERE q.batch_id = %s
          GROUP BY q.table_name, q.column_name, r.one_reason
        ) ranked WHERE rank <= %s ORDER BY table_name, rank
        """,
        (batch_id, TOP_REASONS),
    ).fetchall()
    found: dict[str, list[dict]] = {}
    for table, column, reason, count in rows:
        found.setdefault(table, []).append({"column": column, "reason": reason, "rows": count})
    return found


def _advance_report_versions(conn: psycopg.Connection, batch_id: int, time_zone: str) -> tuple[int, int]:
    """Point each report at its newest version; returns (new reports, superseded reports)."""
    rows = conn.execute(
        """
        WITH candidates AS (
          SELECT DISTINCT ON ({report_number})
                 {report_number} AS report_number, batch_id, row_number,
                 ops.agency_timestamptz(updated_at, %(zone)s) AS updated_at,
                 record_action IS NOT NULL AS deleted
          FROM raw.incidents WHERE batch_id = %(batch_id)s
          ORDER BY {report_number}, ops.agency_timestamptz(updated_at, %(zone)s) DESC, row_number DESC
        )
        INSERT INTO ops.report_versions AS v (report_number, batch_id, row_number, updated_at, deleted)
        SELECT report_number, batch_id, row_number, updated_at, deleted FROM candidates
        ON CONFLICT (report_number) DO UPDATE
          SET batch_id = excluded.batch_id, row_number = excluded.row_number,
              updated_at = excluded.updated_at, deleted = excluded.deleted,
              versions = v.versions + 1, changed_at = now()
          WHERE excluded.updated_at >= v.updated_at  -- ties: the later batch
        RETURNING (xmax = 0) AS inserted
        """.replace("{report_number}", trimmed("report_number")),
        {"batch_id": batch_id, "zone": time_zone},
    ).fetchall()
    new = sum(1 for (inserted,) in rows if inserted)
    return new, len(rows) - new


def _record_batch(conn: psycopg.Connection, result: BatchResult) -> None:
    conn.execute(
        """
        UPDATE ops.ingest_batches
        SET status = 'loaded', rows_read = %s, rows_staged = %s, rows_quarantined = %s,
            table_counts = %s, finished_at = now()
        WHERE batch_id = %s
        """,
        (
            result.rows_read,
            result.rows_staged,
            result.rows_quarantined,
            json.dumps({t: asdict(c) for t, c in result.tables.items()}),
            result.batch_id,
        ),
    )


def _record_rejection(conn: psycopg.Connection, result: BatchResult) -> int:
    with conn.transaction():
        return conn.execute(
            """
            INSERT INTO ops.ingest_batches
              (source_format, source_name, content_sha256, status, rejection_reason, finished_at, delivery_id)
            VALUES (%s, %s, %s, 'rejected', %s, now(), coalesce(%s, nextval('ops.ingest_delivery_id')))
            RETURNING batch_id
            """,
            (result.format, result.source, result.content_sha256, result.reason, result.delivery_id),
        ).fetchone()[0]


def source_paths(path: Path) -> list[Path]:
    """The files a folder holds, in a stable order (used by the CLI and the extract flow)."""
    return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
