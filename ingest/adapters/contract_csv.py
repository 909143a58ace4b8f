"""The export contract as CSV: one file per table (incidents, offenses, persons, cad_calls)."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path

from ingest.contract import TABLES, check_header, table_spec
from ingest.csv_guard import guarded_rows
from ingest.records import ContractTable, FileRejected, Record

OTHER_DELIMITERS = (";", "\t", "|")


def table_for_file(path: Path) -> ContractTable | None:
    """`persons.csv`, `PERSONS.CSV` or `2025-03-04_persons.csv` → persons."""
    stem = path.stem.lower()
    for table in TABLES:
        if stem == table or stem.endswith(f"_{table}") or stem.endswith(f"-{table}"):
            return table  # type: ignore[return-value]
    return None


class ContractCsvSource:
    format = "contract-csv"

    def __init__(self, path: Path, table: ContractTable | None = None, unavailable=frozenset()):
        self.path = Path(path)
        found = table or table_for_file(self.path)
        if found is None:
            raise FileRejected(
                f"{self.path.name}: cannot tell which contract table this is; name it "
                f"incidents.csv, offenses.csv, persons.csv or cad_calls.csv"
            )
        self.table: ContractTable = found
        self.unavailable_columns = frozenset(unavailable)
        self._header: list[str] | None = None

    @property
    def name(self) -> str:
        return str(self.path)

    def content_files(self) -> list[Path]:
        return [self.path]

    def header(self) -> list[str]:
        """The checked header: raises FileRejected for a file-level problem."""
        if self._header is None:
            self._header = _checked_header(self.path, self.table, self.unavailable_columns)
        return self._header

    def direct_copy_plan(self) -> tuple[str, list[str], Path] | None:
        """When every header column is a contract column, COPY can take the file as it is."""
        header = self.header()
        if set(header) <= set(table_spec(self.table).column_names):
            return self.table, header, self.path
        return None

    def records(self) -> Iterator[Record]:
        header = self.header()
        known = set(table_spec(self.table).column_names)
        with self.path.open("rb") as handle:
            rows = guarded_rows(_decoded_lines(handle, self.path.name), self.path.name)
            next(rows)
            row_number = 0
            for row in rows:
                if not row:
                    continue  # a blank line is not a row
                row_number += 1
                yield _record(self.table, row_number, header, row, known)


def _decoded_lines(handle, name: str) -> Iterator[str]:
    """Decode line by line, so a file that is not UTF-8 is rejected naming the exact line."""
    for line_number, line in enumerate(handle, start=1):
        try:
            yield line.decode("utf-8-sig" if line_number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise FileRejected(
                f"{name}: not UTF-8 (an invalid byte on line {line_number}); re-export the file as UTF-8"
            ) from None


def _record(table: ContractTable, row_number: int, header: list[str], row: list[str], known: set) -> Record:
    if len(row) != len(header):
        return Record(
            table,
            row_number,
            dict(zip(header, row, strict=False)),
            problem=f"row has {len(row)} fields; the header has {len(header)}",
        )
    values = {column: (cell if cell != "" else None) for column, cell in zip(header, row, strict=True)}
    extra = {column: values.pop(column) for column in list(values) if column not in known}
    return Record(table, row_number, values, extra={k: v for k, v in extra.items() if v} or None)


def _checked_header(path: Path, table: str, unavailable: frozenset[str]) -> list[str]:
    with path.open("rb") as handle:
        first = handle.readline(1 << 20)
    if not first.strip():
        raise FileRejected(f"{path.name}: empty file (no header row)")
    try:
        text = codecs.decode(first, "utf-8-sig")
    except UnicodeDecodeError:
        raise FileRejected(f"{path.name}: not UTF-8 (the header row has an invalid byte)") from None
    if "\x00" in text:
        raise FileRejected(f"{path.name}: the header row contains a NUL character")
    try:
        header = [column.strip() for column in next(csv.reader([text.rstrip("\r\n")]))]
    except csv.Error:
        raise FileRejected(
            f"{path.name}: the header row is not valid CSV (a stray quote or line break)"
        ) from None
    if len(header) == 1:
        for delimiter in OTHER_DELIMITERS:
            if delimiter in header[0]:
                shown = "tab" if delimiter == "\t" else repr(delimiter)
                raise FileRejected(
                    f"{path.name}: wrong delimiter: columns are separated by {shown}, not commas"
                )
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise FileRejected(f"{path.name}: column(s) named twice in the header: {', '.join(duplicated)}")
    missing = [c for c in check_header(table, header) if c not in unavailable]
    if missing:
        raise FileRejected(f"{path.name}: missing required column(s) for {table}: {', '.join(missing)}")
    return header
