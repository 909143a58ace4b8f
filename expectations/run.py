"""Validate one ingest batch's landed rows with the GX checkpoints and record the verdict.

    from expectations.run import validate_batch
    outcome = validate_batch(batch_id)

For each raw table the batch landed rows in (its `table_counts`), the table's checkpoint runs
on the rows `WHERE batch_id = N` (the batch definition's column-value partitioner, fed the
batch parameter `batch_id`), with the suite parameters taken from the batch record. The
verdict goes onto `ops.ingest_batches` (`expectations_passed`, `expectations_summary`):
counts and expectation names only, never a cell value, since raw rows hold victims' details.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from expectations import (
    DATA_DOCS_INDEX,
    LATEST_TIMESTAMP,
    OFFICER_NAME_MOSTLY,
    ROWS_STAGED,
    checkpoint_name,
    open_context,
)
from ingest.contract import FUTURE_TOLERANCE
from ingest.records import CONTRACT_TABLES
from warehouse.database import database_url, libpq_url, sqlalchemy_url

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context import FileDataContext

# Formats whose source has no officer names at all (ingest adapters' `unavailable_columns`).

# GX contexts and their engines are not thread-safe; one validation runs at a time.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class FailedExpectation:
    expectation: str  # e.g. expect_column_values_to_be_in_set
    column: str | None  # "a+b" for a compound key; None for a table-level expectation
    unexpected_count: int | None  # rows that broke it, when GX counts rows
    observed_count: int | None = None  # a table-level count GX observed (the row count)
    errored: bool = False  # GX could not evaluate it (a query error), rather than rows failing it


@dataclass(frozen=True)
class TableOutcome:
    success: bool
    evaluated: int
    failed: tuple[FailedExpectation, ...]


@dataclass(frozen=True)
class ValidationOutcome:
    batch_id: int
    success: bool
    tables: Mapping[str, TableOutcome]
    data_docs_path: Path | None

    def summary(self) -> dict[str, Any]:
        """What is stored in ops.ingest_batches.expectations_summary (no cell values)."""
        return {"success": self.success, "tables": {name: asdict(t) for name, t in self.tables.items()}}

    def failure_lines(self) -> list[str]:
        """One line per failed expectation, for people: table, expectation, column, counts."""
        return [
            f"{table}: {failed.expectation}"
            + (f" on {failed.column}" if failed.column else "")
            + (f" ({failed.unexpected_count:,} rows)" if failed.unexpected_count is not None else "")
            + (f" (observed {failed.observed_count:,})" if failed.observed_count is not None else "")
            for table, outcome in self.tables.items()
            for failed in outcome.failed
        ]


@dataclass(frozen=True)
class _Batch:
    unavailable_columns: frozenset[str]  # what the source's format cannot carry (loader's record)
    staged: dict[str, int]  # table -> rows landed, for tables the batch read
    read: dict[str, int]  # table -> records read
    quarantined: dict[str, int]  # table -> records quarantined


# Checks of the batch as a whole, beside the GX suites: a table of which nothing landed, or too
# much of which was quarantined, says the export (or its mapping) is wrong, not a few rows.
NOTHING_STAGED = "vnotify_table_has_staged_rows"
TOO_MUCH_QUARANTINED = "vnotify_quarantined_share_at_most"
DEFAULT_MAX_QUARANTINED_SHARE = 0.5


def validate_batch(
    batch_id: int,
    url: str | None = None,
    build_docs: bool = True,
    max_quarantined_share: float = DEFAULT_MAX_QUARANTINED_SHARE,
) -> ValidationOutcome:
    """Run the checkpoints of the tables batch `batch_id` landed rows in, and the share of each
    table's rows quarantined against `max_quarantined_share`; record and return the verdict.

    Raises LookupError for an unknown batch and ValueError for one that is not loaded."""
    started = time.perf_counter()
    url = libpq_url(url or database_url())
    batch = _read_batch(url, batch_id)
    with _LOCK:
        context = _context(sqlalchemy_url(url))
        run_id = _run_id(batch_id)
        tables: dict[str, TableOutcome] = {}
        result_ids: list[Any] = []
        for table, staged in batch.staged.items():
            if staged == 0:
                continue  # every row was quarantined: nothing landed to check
            tables[table], ids = _validate_table(context, table, batch_id, _parameters(staged, batch), run_id)
            result_ids += ids
        docs = _build_docs(context, result_ids) if build_docs and result_ids else None
        _release_connections(context)
    for table, failed in _quarantine_failures(batch, max_quarantined_share).items():
        checked = tables.get(table, TableOutcome(True, 0, ()))
        tables[table] = TableOutcome(False, checked.evaluated + 1, (*checked.failed, failed))
    outcome = ValidationOutcome(batch_id, all(t.success for t in tables.values()), tables, docs)
    _record(url, outcome, time.perf_counter() - started)
    return outcome


@lru_cache(maxsize=4)
def _context(connection_string: str) -> FileDataContext:
    """One GX context per database per process: opening one reads the whole project."""
    return open_context(connection_string)


def _read_batch(url: str, batch_id: int) -> _Batch:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT status, unavailable_columns, table_counts FROM ops.ingest_batches WHERE batch_id = %s",
            (batch_id,),
        ).fetchone()
    if row is None:
        raise LookupError(f"no ingest batch {batch_id}")
    status, unavailable_columns, table_counts = row
    if status != "loaded":
        raise ValueError(f"batch {batch_id} is {status}, not loaded: it has no rows to validate")
    counts = {t: table_counts[t] for t in CONTRACT_TABLES if t in table_counts}
    return _Batch(
        frozenset(unavailable_columns),
        staged={t: int(c.get("staged", 0)) for t, c in counts.items()},
        read={t: int(c.get("read", 0)) for t, c in counts.items()},
        quarantined={t: int(c.get("quarantined", 0)) for t, c in counts.items()},
    )


def _quarantine_failures(batch: _Batch, max_share: float) -> dict[str, FailedExpectation]:
    """Tables of the batch with no row staged, or more than `max_share` of their rows quarantined."""
    failures = {}
    for table, read in batch.read.items():
        quarantined = batch.quarantined.get(table, 0)
        if read and batch.staged.get(table, 0) == 0:
            failures[table] = FailedExpectation(NOTHING_STAGED, None, quarantined, observed_count=0)
        elif read and quarantined / read > max_share:
            failures[table] = FailedExpectation(TOO_MUCH_QUARANTINED, None, quarantined, observed_count=read)
    return failures


def _parameters(staged: int, batch: _Batch) -> dict[str, Any]:
    latest = dt.datetime.now(dt.UTC) + FUTURE_TOLERANCE
    officer_name_expected = "officer_name" not in batch.unavailable_columns
    return {
        ROWS_STAGED: staged,
        LATEST_TIMESTAMP: latest.isoformat(),
        OFFICER_NAME_MOSTLY: 1.0 if officer_name_expected else 0.0,
    }


def _run_id(batch_id: int) -> RunIdentifier:
    from great_expectations.core.run_identifier import RunIdentifier

    # The run name shows the batch in Data Docs and in uncommitted/validations.
    return RunIdentifier(run_name=f"batch-{batch_id}", run_time=dt.datetime.now(dt.UTC))


def _validate_table(
    context: FileDataContext, table: str, batch_id: int, parameters: dict[str, Any], run_id: RunIdentifier
) -> tuple[TableOutcome, list[Any]]:
    from great_expectations.exceptions.exceptions import NoAvailableBatchesError

    checkpoint = context.checkpoints.get(checkpoint_name(table))
    try:
        result = checkpoint.run(
            batch_parameters={"batch_id": batch_id}, expectation_parameters=parameters, run_id=run_id
        )
    except NoAvailableBatchesError:
        # The record says rows landed but none are there (purged or never landed).
        missing = FailedExpectation("expect_table_row_count_to_equal", None, None, observed_count=0)
        return TableOutcome(False, 0, (missing,)), []
    (validation,) = result.run_results.values()
    failed = tuple(_failed(r) for r in validation.results if not r.success)
    evaluated = int(validation.statistics["evaluated_expectations"])
    return TableOutcome(validation.success, evaluated, failed), list(result.run_results)


def _failed(result: ExpectationValidationResult) -> FailedExpectation:
    """The expectation's name and column, and a count: never the values GX saw."""
    config = result.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column") or ("+".join(kwargs["column_list"]) if kwargs.get("column_list") else None)
    return FailedExpectation(
        config.type,
        column,
        _count(result.result.get("unexpected_count")),
        # observed_value is a count for table-level expectations only; elsewhere it can be a value.
        _count(result.result.get("observed_value")) if column is None else None,
        _raised(result),
    )


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _raised(result: ExpectationValidationResult) -> bool:
    # One exception record, or one per metric keyed by metric id.
    info = result.exception_info or {}
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def _release_connections(context: FileDataContext) -> None:
    """Close the data source's pooled connections: a validation may be the last thing a process
    does to a database (which is then dropped, or copied as a template), and the next one
    reconnects in milliseconds."""
    for datasource in context.data_sources.all().values():
        datasource.get_engine().dispose()
        datasource.get_execution_engine().engine.dispose()


def _build_docs(context: FileDataContext, result_ids: list[Any]) -> Path:
    # Only this batch's result pages and the index: a full rebuild grows with every result kept.
    context.build_data_docs(resource_identifiers=result_ids)
    return DATA_DOCS_INDEX


def _record(url: str, outcome: ValidationOutcome, seconds: float) -> None:
    summary = {
        **outcome.summary(),
        "validated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
    }
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE ops.ingest_batches SET expectations_passed = %s, expectations_summary = %s WHERE batch_id = %s",
            (outcome.success, json.dumps(summary), outcome.batch_id),
        )
