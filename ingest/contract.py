"""The RMS/CAD export contract (docs/contracts/rms-export.md, version 1) as data and pure checks.

The one place that knows the four tables, their columns in contract order, which are required
and which values are allowed, so the simulator, the tests and the ingest adapters agree.

Checks are lenient where real exports vary harmlessly (surrounding whitespace; letter case of
booleans, allowed values and NIBRS codes) and strict on shape. A reason never contains the
cell's value: exports carry victims' names, phones and e-mails, and reasons end up in logs and
in the quarantine table.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

CONTRACT_VERSION = 1

# Date-times that must lie between EARLIEST_TIMESTAMP and the load time + FUTURE_TOLERANCE (the
# day absorbs naive times read in the server's zone). A row outside is quarantined by the loader
# and counted again by the batch's expectations. occurred_at is left out: a cold case reported
# today may have occurred before 1990.
RANGE_CHECKED = {
    "incidents": ("reported_at", "updated_at"),
    "persons": ("consent_at",),
    "cad_calls": ("received_at",),
}
EARLIEST_TIMESTAMP = "1990-01-01T00:00:00+00:00"
FUTURE_TOLERANCE = dt.timedelta(days=1)

Kind = Literal[
    "text",
    "datetime",
    "date",
    "seq",
    "age",
    "boolean",
    "choice",
    "nibrs_code",
    "seq_list",
    "ori",
    "language",
]

ROLES = ("victim", "offender", "suspect", "arrestee", "witness", "reporting_party")
VICTIM_TYPES = (
    "individual",
    "business",
    "financial_institution",
    "government",
    "religious_organization",
    "society",
    "law_enforcement",
    "other",
    "unknown",
)
CASE_STATUSES = (
    "open",
    "suspended",
    "cleared_arrest",
    "cleared_exceptional",
    "unfounded",
    "closed",
)
PHONE_TYPES = ("mobile", "landline", "unknown")
TRUE_VALUES = ("y", "true", "1")
FALSE_VALUES = ("n", "false", "0")

# Shapes of trimmed values, written so PostgreSQL and Python read them alike (ASCII classes
# only: `\d` and `\s` follow the locale in PostgreSQL and Unicode in Python). ingest/validation.py
# turns the same patterns into SQL; tests/test_validation.py holds the two to the same verdicts.
BLANK = " \t\n\r\f\v"
PATTERNS = {
    "datetime": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?$",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "seq": r"^0*[1-9][0-9]{0,8}$",
    "age": r"^[0-9]{1,3}$",
    "seq_list": r"^[0-9]{1,9}( +[0-9]{1,9})*$",
    "ori": r"^[A-Za-z]{2}[0-9A-Za-z]{7}$",
    "language": r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
}
_COMPILED = {kind: re.compile(pattern) for kind, pattern in PATTERNS.items()}

# Date-times are checked by shape, with every ASCII digit read as 9, then by a real parse. The
# shapes are exactly the strings PATTERNS["datetime"] matches (digits abstracted); a lookup in
# this set costs PostgreSQL a fraction of what the regex does on a million rows.
DIGITS_AS_NINE = str.maketrans("0123456789", "9999999999")
_SECONDS = ("", ":99", *(":99." + "9" * n for n in range(1, 7)))
_OFFSETS = ("", "Z", "z", *(sign + tail for sign in "+-" for tail in ("99", "9999", "99:99")))
DATETIME_SHAPES = frozenset(
    f"9999-99-99{sep}99:99{seconds}{offset}" for sep in "T " for seconds in _SECONDS for offset in _OFFSETS
)
DATE_SHAPES = frozenset({"9999-99-99"})
NIBRS_CODE = re.compile(r"^[0-9]{2}[0-9A-Z]$")  # the shape; known_offense_codes() is the list
REFERENCE = Path(__file__).resolve().parent / "reference"


@cache
def known_offense_codes() -> tuple[str, ...]:
    """NIBRS offense codes from the FBI's NIBRS_OFFENSE_TYPE table (ingest/reference)."""
    with (REFERENCE / "nibrs_offense_type.csv").open(newline="", encoding="utf-8") as handle:
        codes = {row["OFFENSE_CODE"].strip().upper() for row in csv.DictReader(handle)}
    return tuple(sorted(code for code in codes if "*" not in code))


@dataclass(frozen=True)
class Column:
    name: str
    required: bool = False
    kind: Kind = "text"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.required)


@dataclass(frozen=True)
class RowProblem:
    """One cell that breaks the contract. `reason` names the column, never the value."""

    column: str
    reason: str


INCIDENTS = Table(
    "incidents",
    (
        Column("report_number", required=True),
        Column("agency_ori", kind="ori"),
        Column("reported_at", required=True, kind="datetime"),
        Column("occurred_at", kind="datetime"),
        Column("division", required=True),
        Column("beat"),
        Column("officer_id"),
        Column("officer_name", required=True),
        Column("case_status", kind="choice", choices=CASE_STATUSES),
        Column("domestic_violence", kind="boolean"),
        Column("updated_at", required=True, kind="datetime"),
        Column("assigned_detective"),
    ),
)

OFFENSES = Table(
    "offenses",
    (
        Column("report_number", required=True),
        Column("offense_seq", required=True, kind="seq"),
        Column("nibrs_code", required=True, kind="nibrs_code"),
        Column("agency_code"),
        Column("description"),
        Column("attempted", kind="boolean"),
    ),
)

PERSONS = Table(
    "persons",
    (
        Column("report_number", required=True),
        Column("person_seq", required=True, kind="seq"),
        Column("role", required=True, kind="choice", choices=ROLES),
        # Required only for victims; validate_row checks that rule.
        Column("victim_type", kind="choice", choices=VICTIM_TYPES),
        Column("first_name"),
        Column("last_name"),
        Column("birth_date", kind="date"),
        Column("age", kind="age"),
        Column("deceased", kind="boolean"),
        Column("phone"),
        Column("phone_type", kind="choice", choices=PHONE_TYPES),
        Column("email"),
        Column("language", kind="language"),
        Column("contact_consent", kind="boolean"),
        Column("consent_source"),
        Column("consent_at", kind="datetime"),
        Column("offense_seqs", kind="seq_list"),
    ),
)

CAD_CALLS = Table(
    "cad_calls",
    (
        Column("call_number", required=True),
        Column("report_number"),
        Column("received_at", required=True, kind="datetime"),
        Column("call_type"),
        Column("priority"),
        Column("division"),
        Column("caller_name"),
        Column("caller_phone"),
        Column("disposition"),
    ),
)

TABLES: dict[str, Table] = {table.name: table for table in (INCIDENTS, OFFENSES, PERSONS, CAD_CALLS)}


def table_spec(table: str) -> Table:
    """The contract table called `table` (`incidents` or `incidents.csv`)."""
    try:
        return TABLES[table.removesuffix(".csv")]
    except KeyError:
        raise ValueError(f"unknown contract table {table!r}; expected one of {sorted(TABLES)}") from None


def parse_bool(value: str) -> bool | None:
    """Y/N, true/false, 1/0 in any case; None when empty. Raises ValueError otherwise."""
    folded = value.strip().lower()
    if not folded:
        return None
    if folded in TRUE_VALUES:
        return True
    if folded in FALSE_VALUES:
        return False
    raise ValueError("not a contract boolean")


def parse_datetime(value: str) -> dt.datetime:
    """A contract date-time: ISO 8601 with a time, naive (agency time zone) or with an offset.

    A bare date is refused: it would silently invent a time of day.
    """
    text = value.strip(BLANK)
    if text.translate(DIGITS_AS_NINE) not in DATETIME_SHAPES or not _valid_datetime(text):
        raise ValueError("not an ISO 8601 date-time")
    return dt.datetime.fromisoformat(text)


def check_header(table: str, columns: Iterable[str]) -> list[str]:
    """Required columns missing from a header, in contract order (extra columns are fine)."""
    present = {column.strip().lstrip("\ufeff").strip() for column in columns}
    return [name for name in table_spec(table).required_columns if name not in present]


def validate_row(table: str, row: Mapping[str, str | None]) -> list[RowProblem]:
    """Every contract violation in one row; a column absent from `row` counts as empty."""
    problems = []
    for column in table_spec(table).columns:
        value = (row.get(column.name) or "").strip(BLANK)
        if not value:
            if column.required:
                problems.append(RowProblem(column.name, f"{column.name} is required"))
            continue
        reason = _shape_problem(column, value)
        if reason:
            problems.append(RowProblem(column.name, reason))
    if table.removesuffix(".csv") == "persons":
        problems.extend(_victim_type_problem(row))
    return problems


def _victim_type_problem(row: Mapping[str, str | None]) -> list[RowProblem]:
    is_victim = (row.get("role") or "").strip(BLANK).lower() == "victim"
    if is_victim and not (row.get("victim_type") or "").strip(BLANK):
        return [RowProblem("victim_type", "victim_type is required when role is victim")]
    return []


SHAPE_REASONS = {
    "datetime": "is not an ISO 8601 date-time",
    "date": "is not an ISO 8601 date",
    "seq": "is not a positive whole number",
    "age": "is not a whole number of years",
    "boolean": "is not a boolean (Y/N, true/false, 1/0)",
    "nibrs_code": "is not a known NIBRS offense code",
    "seq_list": "is not a space-separated list of offense_seq numbers",
    "ori": "is not a 9-character ORI",
    "language": "is not a BCP 47 language tag",
}


def shape_reason(column: Column) -> str:
    return f"{column.name} " + (
        SHAPE_REASONS.get(column.kind) or f"is not one of: {', '.join(column.choices)}"
    )


def _shape_problem(column: Column, value: str) -> str | None:
    """Why a non-empty, trimmed value does not fit its column, or None when it does."""
    return None if _fits(column, value) else shape_reason(column)


def _fits(column: Column, value: str) -> bool:
    match column.kind:
        case "text":
            return True
        case "datetime":
            return value.translate(DIGITS_AS_NINE) in DATETIME_SHAPES and _valid_datetime(value)
        case "date":
            return value.translate(DIGITS_AS_NINE) in DATE_SHAPES and _parses(dt.date.fromisoformat, value)
        case "boolean":
            return value.lower() in TRUE_VALUES + FALSE_VALUES
        case "choice":
            return value.lower() in column.choices
        case "nibrs_code":
            return value.upper() in known_offense_codes()
        case _:
            return bool(_COMPILED[column.kind].match(value))


def _parses(parse: Callable[[str], object], value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


_OFFSET = re.compile(r"[+-]([0-9]{2}):?([0-9]{2})?$")


def _valid_datetime(value: str) -> bool:
    """A real calendar time, with an offset PostgreSQL accepts too (hours < 16, minutes < 60)."""
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    offset = _OFFSET.search(value[16:])  # after the minutes, so the date's dashes never match
    return offset is None or (int(offset.group(1)) < 16 and int(offset.group(2) or 0) < 60)
