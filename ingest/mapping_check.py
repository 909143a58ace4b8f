"""`vnotify mapping check`: what a mapping makes of a file, without loading anything.

For a new export: the first records as the contract sees them, how many records each table
would get and how many the contract would quarantine (with the reasons, never the values), the
share of values each date format reads, the date warnings that would reject the file, the
contract columns left unmapped and the source columns no output uses.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.adapters.mapping import MappedCsvSource, Mapping
from ingest.contract import table_spec, validate_row
from vnotify.config import AgencyConfig


@dataclass
class TableCheck:
    records: int = 0
    would_quarantine: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # reason -> records
    unmapped_columns: list[str] = field(default_factory=list)  # contract columns the mapping leaves out

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "would_quarantine": self.would_quarantine,
            "reasons": [{"reason": r, "records": n} for r, n in self.reasons.most_common()],
            "unmapped_columns": self.unmapped_columns,
        }


@dataclass
class MappingCheck:
    source_rows: int
    tables: dict[str, TableCheck]
    first_records: list[dict[str, Any]]  # {"table", "row", "values"}: the export's own values
    date_formats: list[dict[str, Any]]  # {"column", "format", "share", "values"}
    date_problems: list[str]  # each would reject the file
    unused_source_columns: list[str]

    @property
    def would_load(self) -> bool:
        return not self.date_problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_rows": self.source_rows,
            "would_load": self.would_load,
            "tables": {name: t.as_dict() for name, t in self.tables.items()},
            "first_records": self.first_records,
            "date_formats": self.date_formats,
            "date_problems": self.date_problems,
            "unused_source_columns": self.unused_source_columns,
        }


def check_mapping(path: Path, mapping: Mapping, config: AgencyConfig, rows: int = 5) -> MappingCheck:
    """Raises FileRejected for a file-level problem, as ingest would."""
    source = MappedCsvSource(path, mapping, config=config)
    tallies = source.date_tallies()
    tables = {name: TableCheck() for name in mapping.tables}
    first: list[dict[str, Any]] = []
    unavailable = set(mapping.unavailable_columns)
    used = {name.strip().casefold() for name in mapping.source_columns()}
    for record in source.mapped_records():
        check = tables[record.table]
        check.records += 1
        problems = [record.problem] if record.problem else []
        problems += [
            p.reason for p in validate_row(record.table, record.values) if p.column not in unavailable
        ]
        if problems:
            check.would_quarantine += 1
            check.reasons.update(problems)
        if len(first) < rows:
            first.append({"table": record.table, "row": record.row_number, "values": dict(record.values)})
    for name, check in tables.items():
        mapped = set(mapping.tables[name].columns)  # type: ignore[index]
        check.unmapped_columns = [c for c in table_spec(name).column_names if c not in mapped]
    formats = [
        {
            "column": f"{table}.{column}",
            "format": fmt,
            "share": round(tally.share(fmt), 4),
            "values": tally.values,
        }
        for (table, column), tally in tallies.items()
        for fmt in tally.formats
    ]
    return MappingCheck(
        source_rows=source.source_rows or 0,
        tables=tables,
        first_records=first,
        date_formats=formats,
        date_problems=source.date_problems(tallies),
        unused_source_columns=[name for name in source.header_names() if name.casefold() not in used],
    )
