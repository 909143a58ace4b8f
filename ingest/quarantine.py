"""Reading the quarantine: which rows were set aside, and why (values only when asked)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row


@dataclass(frozen=True)
class QuarantinedRow:
    quarantine_id: int
    batch_id: int
    source_name: str
    table_name: str
    row_number: int
    column_name: str | None
    reason: str
    quarantined_at: Any
    columns: list[str]  # the names of the row's cells as received
    raw_row: dict[str, str | None] | None = None  # the values: only when asked for

    def as_dict(self) -> dict[str, Any]:
        result = {k: v for k, v in self.__dict__.items() if k != "raw_row"}
        if self.raw_row is not None:
            result["raw_row"] = self.raw_row
        return result


_SELECT = """
    SELECT q.quarantine_id, q.batch_id, b.source_name, q.table_name, q.row_number, q.column_name,
           q.reason, q.quarantined_at, ARRAY(SELECT jsonb_object_keys(q.raw_row)) AS columns,
           q.raw_row
    FROM ops.quarantine AS q JOIN ops.ingest_batches AS b ON b.batch_id = q.batch_id
"""


def list_quarantined(
    url: str, *, batch_id: int | None = None, reason: str | None = None, limit: int = 50
) -> list[QuarantinedRow]:
    """Quarantined rows, newest first; `reason` matches part of the reason, ignoring case."""
    with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(
            _SELECT
            + """
            WHERE (%(batch)s::bigint IS NULL OR q.batch_id = %(batch)s)
              AND (%(reason)s::text IS NULL OR q.reason ILIKE '%%' || %(reason)s || '%%')
            ORDER BY q.quarantine_id DESC LIMIT %(limit)s
            """,
            {"batch": batch_id, "reason": reason, "limit": limit},
        ).fetchall()
    return [_row(r, with_values=False) for r in rows]


def quarantined_row(url: str, quarantine_id: int, *, with_values: bool = False) -> QuarantinedRow | None:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(_SELECT + " WHERE q.quarantine_id = %s", (quarantine_id,)).fetchone()
    return _row(row, with_values=with_values) if row else None


def _row(row: dict[str, Any], *, with_values: bool) -> QuarantinedRow:
    raw = row.pop("raw_row")
    return QuarantinedRow(**row, raw_row=raw if with_values else None)
