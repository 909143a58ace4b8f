"""The RMS/CAD export contract (docs/contracts/rms-export.md, version 1) as data and pure checks.

The one place that knows the four tables, their columns in contract order, which are required
and which values are allowed, so the simulator, the tests and the ingest adapters agree.

Checks are lenient where real exports vary harmlessly (surrounding whitespace; letter case of
booleans, allowed values and NIBRS codes) and strict on shape. A reason never contains the
cell's value: exports carry victims' names, phones and e-mails, and reasons end up in logs and
in the quarantine table.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

CONTRACT_VERSION = 1

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

NIBRS_CODE = re.compile(r"^[0-9]{2}[0-9A-Z]$")
ORI = re.compile(r"^[A-Z]{2}[0-9A-Z]{7}$")
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
WHOLE_NUMBER = re.compile(r"^[0-9]+$")
SEQ_LIST = re.compile(r"^[0-9]+( +[0-9]+)*$")


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
    """An ISO 8601 date-time, naive (agency time zone) or with an offset.

    A bare date is refused: `datetime.fromisoformat` would read it as midnight, which would
    silently invent a time of day.
    """
    text = value.strip()
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return dt.datetime.fromisoformat(text)
    raise ValueError("a date without a time")


def check_header(table: str, columns: Iterable[str]) -> list[str]:
    """Required columns missing from a header, in contract order (extra columns are fine)."""
    present = {column.strip().lstrip("\ufeff").strip() for column in columns}
    return [name for name in table_spec(table).required_columns if name not in present]


def validate_row(table: str, row: Mapping[str, str | None]) -> list[RowProblem]:
    """Every contract violation in one row; a column absent from `row` counts as empty."""
    problems = []
    for column in table_spec(table).columns:
        value = (row.get(column.name) or "").strip()
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
    is_victim = (row.get("role") or "").strip().lower() == "victim"
    if is_victim and not (row.get("victim_type") or "").strip():
        return [RowProblem("victim_type", "victim_type is required when role is victim")]
    return []


def _shape_problem(column: Column, value: str) -> str | None:
    """Why a non-empty value does not fit its column, or None when it does."""
    name = column.name
    match column.kind:
        case "text":
            return None
        case "datetime":
            return None if _parses(parse_datetime, value) else f"{name} is not an ISO 8601 date-time"
        case "date":
            return None if _parses(dt.date.fromisoformat, value) else f"{name} is not an ISO 8601 date"
        case "seq":
            ok = WHOLE_NUMBER.match(value) and int(value) >= 1
            return None if ok else f"{name} is not a positive whole number"
        case "age":
            return None if WHOLE_NUMBER.match(value) else f"{name} is not a whole number of years"
        case "boolean":
            ok = value.lower() in TRUE_VALUES + FALSE_VALUES
            return None if ok else f"{name} is not a boolean (Y/N, true/false, 1/0)"
        case "choice":
            ok = value.lower() in column.choices
            return None if ok else f"{name} is not one of: {', '.join(column.choices)}"
        case "nibrs_code":
            ok = NIBRS_CODE.match(value.upper())
            return None if ok else f"{name} is not a NIBRS offense code (two digits and a digit or letter)"
        case "seq_list":
            ok = SEQ_LIST.match(value)
            return None if ok else f"{name} is not a space-separated list of offense_seq numbers"
        case "ori":
            return None if ORI.match(value.upper()) else f"{name} is not a 9-character ORI"
        case "language":
            return None if LANGUAGE_TAG.match(value) else f"{name} is not a BCP 47 language tag"


def _parses(parse: Callable[[str], object], value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True
