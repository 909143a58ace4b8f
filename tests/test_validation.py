"""The SQL row checks and the pure-Python contract checks give the same verdict on any value."""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.contract import TABLES, Column, validate_row
from ingest.validation import _present, _shape_ok, checks

KINDS = {
    column.kind: column for table in TABLES.values() for column in table.columns if column.kind != "text"
}

# Values near the boundaries of every shape, plus arbitrary text.
near_misses = st.sampled_from(
    [
        "2025-03-04T14:22:00",
        "2025-03-04 14:22",
        "2025-03-04T14:22:00.123456-07:00",
        "2025-03-04T14:22Z",
        "2025-02-29T10:00:00",
        "2024-02-29T10:00:00",
        "2025-13-01T00:00:00",
        "2025-03-04T24:00:00",
        "2025-03-04",
        "2025-3-4",
        "20250304T142200",
        "2025-03-04T14",
        "2025-03-04T14:22:00+0530",
        "2025-03-04T23:59:60",
        "2025-03-04T14:22:00+16:00",
        "2025-03-04T14:22:00-15:59",
        "2025-03-04T14:60",
        "2025-03-04T14:22:00+05:60",
        "0000-01-01T00:00:00",
        "2025-03-04T14:22:00.1234567",
        "0",
        "1",
        "01",
        "007",
        "123456789",
        "1234567890",
        "-1",
        "1.0",
        "١٢",
        "１",
        "Y",
        "n",
        "TRUE",
        "False",
        "yes",
        "victim",
        "VICTIM",
        "reporting_party",
        "Individual",
        "23H",
        "23h",
        "13A",
        "999",
        "23*",
        "1 2 3",
        "1  2",
        "1,2",
        "AZ0109900",
        "az01099",
        "en",
        "es-MX",
        "zh-Hant-TW",
        "e",
        "",
        " ",
        "\t",
        "\u00a0",
    ]
)
ascii_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
values = st.one_of(near_misses, ascii_text, st.builds(lambda a, b: f" {a}\t{b} ", near_misses, near_misses))


def _sql_verdicts(url: str, column: Column, cells: list[str]) -> list[bool]:
    """True where SQL accepts the value: absent, or present with the right shape."""
    shape = _shape_ok(Column("v", column.required, column.kind, column.choices))
    query = (
        f"SELECT NOT {_present('v')} OR {shape} FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i"
    )
    with psycopg.connect(url) as conn:
        return [ok for (ok,) in conn.execute(query, (cells,)).fetchall()]


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(values, min_size=1, max_size=40))
def test_sql_and_python_agree_on_every_shape(db_url, kind, cells):
    column = KINDS[kind]
    python = [
        not any(p.column == column.name for p in validate_row(_table_of(column), {column.name: c}))
        or _only_required_failed(column, c)
        for c in cells
    ]
    assert _sql_verdicts(db_url, column, cells) == python


def _table_of(column: Column) -> str:
    return next(name for name, table in TABLES.items() if column in table.columns)


def _only_required_failed(column: Column, cell: str) -> bool:
    """An empty required cell fails the required check, not the shape check this test compares."""
    return column.required and not cell.strip(" \t\n\r\f\v")


def test_every_contract_column_with_a_shape_has_a_check():
    for name, table in TABLES.items():
        checked = {check.column for check in checks(name)}
        for column in table.columns:
            if column.required or column.kind != "text":
                assert column.name in checked, (name, column.name)


def test_officer_name_is_not_required_of_sources_that_cannot_carry_it():
    assert "officer_name" in {c.column for c in checks("incidents")}
    assert "officer_name" not in {c.column for c in checks("incidents", frozenset({"officer_name"}))}
