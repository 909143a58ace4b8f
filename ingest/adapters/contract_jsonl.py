"""The export contract as JSON Lines: one incident per line, with nested `offenses` and
`persons` arrays; a line with a `call_number` and no `report_number`-level incident fields
(or `"table": "cad_calls"`) is a CAD call. Field names are the contract's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ingest.contract import table_spec
from ingest.records import ContractTable, FileRejected, Record

NESTED = {"offenses": "offenses", "persons": "persons"}


def _text(value: object) -> str | None:
    """JSON scalars as the contract's text: booleans as Y/N, lists of seqs space-separated."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _record(table: ContractTable, row_number: int, obj: dict) -> Record:
    known = set(table_spec(table).column_names)
    values = {k: _text(v) for k, v in obj.items() if k in known}
    extra = {k: _text(v) for k, v in obj.items() if k not in known and k not in NESTED and k != "table"}
    return Record(table, row_number, values, extra={k: v for k, v in extra.items() if v} or None)


def _is_call(obj: dict) -> bool:
    return obj.get("table") == "cad_calls" or ("call_number" in obj and "reported_at" not in obj)


class ContractJsonlSource:
    format = "contract-jsonl"

    def __init__(self, path: Path, unavailable=frozenset()):
        self.path = Path(path)
        self.unavailable_columns = frozenset(unavailable)

    @property
    def name(self) -> str:
        return str(self.path)

    def content_files(self) -> list[Path]:
        return [self.path]

    def records(self) -> Iterator[Record]:
        if self.path.stat().st_size == 0:
            raise FileRejected(f"{self.path.name}: empty file")
        line_number = 0
        with self.path.open("rb") as handle:
            for raw_line in handle:
                line_number += 1
                try:
                    line = raw_line.decode("utf-8-sig" if line_number == 1 else "utf-8")
                except UnicodeDecodeError:
                    raise FileRejected(
                        f"{self.path.name}: not UTF-8 (an invalid byte on line {line_number})"
                    ) from None
                if not line.strip():
                    continue
                yield from self._line_records(line_number, line)

    def _line_records(self, line_number: int, line: str) -> Iterator[Record]:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as error:
            yield Record("incidents", line_number, {}, problem=f"line is not valid JSON ({error.msg})")
            return
        if not isinstance(obj, dict):
            yield Record("incidents", line_number, {}, problem="line is not a JSON object")
            return
        if _is_call(obj):
            yield _record("cad_calls", line_number, obj)
            return
        yield _record("incidents", line_number, obj)
        report_number = _text(obj.get("report_number"))
        for key, table in NESTED.items():
            children = obj.get(key) or []
            if not isinstance(children, list):
                yield Record(
                    table, line_number, {"report_number": report_number}, problem=f"{key} is not a list"
                )
                continue
            for child in children:
                if not isinstance(child, dict):
                    yield Record(
                        table,
                        line_number,
                        {"report_number": report_number},
                        problem=f"an item of {key} is not an object",
                    )
                    continue
                # Children inherit the report number when they leave it out.
                yield _record(table, line_number, {"report_number": report_number, **child})
