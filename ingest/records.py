"""What every source adapter produces: contract-shaped records, and the one way to reject a file.

Adapters translate a source (contract CSV/JSONL, FBI NIBRS tables or XML, an agency CSV
through a mapping file) into `Record`s for the four contract tables. They never drop a row:
a row they cannot make sense of is still emitted, with `problem` set or with the values it
has, and the loader quarantines it with its reason. A problem with the whole source raises
`FileRejected`, and nothing from that source is loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

ContractTable = Literal["incidents", "offenses", "persons", "cad_calls"]
CONTRACT_TABLES: tuple[ContractTable, ...] = ("incidents", "offenses", "persons", "cad_calls")


class FileRejected(Exception):
    """The whole source is unusable. The message names the file and the problem, never a value."""


@dataclass(frozen=True, slots=True)
class Record:
    table: ContractTable
    # 1-based position, in the source, of the row this record came from (a data row, a
    # header is not counted; for XML, the position of the report in the document).
    row_number: int
    # Contract column -> value as received (text); a missing or empty value is None.
    values: dict[str, str | None]
    # Source columns the contract does not know, kept in raw.
    extra: dict[str, str] | None = None
    # Incidents only: None for an add or replace, "delete" when the source deletes the report.
    action: Literal["delete"] | None = None
    # Set when the adapter could not read the row (e.g. wrong number of fields); quarantined.
    problem: str | None = None


class Source(Protocol):
    """One unit of ingest: a file, a folder of FBI tables, or a query result."""

    format: str
    # Contract columns this format cannot carry at all (e.g. NIBRS has no officer names):
    # they are not required of its records.
    unavailable_columns: frozenset[str]

    @property
    def name(self) -> str:
        """What the batch record calls the source (a path or a query name)."""

    def content_files(self) -> list[Path]:
        """The files whose bytes identify this source (hashed for idempotency). When empty
        (a query result), the loader hashes the records instead."""

    def records(self) -> Iterator[Record]:
        """Every record, streaming; may raise FileRejected before or during iteration."""


@dataclass
class StaticSource:
    """A Source over records already in memory (a SQL query result, tests)."""

    format: str
    source_name: str
    items: list[Record] = field(default_factory=list)
    unavailable_columns: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return self.source_name

    def content_files(self) -> list[Path]:
        return []

    def records(self) -> Iterator[Record]:
        yield from self.items
