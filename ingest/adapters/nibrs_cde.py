"""FBI Crime Data Explorer (CDE) NIBRS master-file tables -> contract records.

A CDE state/year download is a folder of CSV tables keyed by FBI surrogate ids. This adapter
reads eleven of them (file names matched in any letter case, headers in upper or lower case):
NIBRS_incident, NIBRS_OFFENSE, NIBRS_OFFENSE_TYPE, NIBRS_VICTIM, NIBRS_VICTIM_TYPE,
NIBRS_VICTIM_OFFENSE, NIBRS_OFFENDER, NIBRS_VICTIM_OFFENDER_REL, NIBRS_RELATIONSHIP,
NIBRS_ARRESTEE and agencies, and NIBRS_AGE when the folder has it. A missing table, two files
for one table, or a missing column the mapping needs rejects the whole folder (`FileRejected`).

Two layouts, told apart by NIBRS_OFFENSE's header:
- the older one (upper-case headers, e.g. the 2018 downloads): offenses carry OFFENSE_TYPE_ID,
  the key of NIBRS_OFFENSE_TYPE; ages are AGE_ID (1 NN, 2 NB, 3 BB, 4 00, 5 years, 6 99,
  0 NS) with AGE_NUM empty for the codes;
- the current one (lower-case headers, e.g. the 2021 downloads): offenses carry OFFENSE_CODE,
  the key of NIBRS_OFFENSE_TYPE; AGE_NUM may itself hold an age code (NN, NB, BB, 00, NS, 99)
  and AGE_ID ids differ (103 is 00), so NIBRS_AGE, when present, says which code an id is.
Age codes: NN, NB and BB are under one year (age 0, a juvenile); 00 (unknown) and NS (not
specified) are unknown, never 0; 99 is 99 or over (age 99).

Mapping (docs/contracts/rms-export.md)
- incidents: one per NIBRS_incident row.
  report_number = INCIDENT_ID (NIBRS carries no agency report number; the FBI surrogate key
  stands in for it); agency_ori = agencies.ORI via AGENCY_ID; division = that ORI too (NIBRS
  has no divisions: list the ORI among a division's aliases in the agency configuration, or
  the victims are held as `unknown_division`); reported_at = occurred_at = INCIDENT_DATE + INCIDENT_HOUR as
  `YYYY-MM-DDTHH:00:00` (hour 00 when empty); officer_name, officer_id, beat,
  domestic_violence = None (not in NIBRS); case_status from CLEARED_EXCEPT_ID: 6 (not
  applicable) -> open, any other -> cleared_exceptional, empty -> None; updated_at =
  SUBMISSION_DATE at 00:00:00, or INCIDENT_DATE when SUBMISSION_DATE is empty.
  extra: AGENCY_ID.
- offenses: one per NIBRS_OFFENSE row.
  offense_seq = rank of OFFENSE_ID (numeric) among the incident's offenses, 1, 2, ...;
  nibrs_code = NIBRS_OFFENSE_TYPE.OFFENSE_CODE and description = OFFENSE_NAME via
  OFFENSE_TYPE_ID (older layout), or the offense's own OFFENSE_CODE (current layout);
  attempted = Y for ATTEMPT_COMPLETE_FLAG A, N for C, None otherwise.
  extra: OFFENSE_ID, CRIME_AGAINST.
- persons, role victim: one per NIBRS_VICTIM row. person_seq = VICTIM_SEQ_NUM;
  victim_type = NIBRS_VICTIM_TYPE.VICTIM_TYPE_NAME mapped to the contract's values
  (`VICTIM_TYPE_NAMES`); age = AGE_NUM in years, 0 for the FBI's under-one-year age codes,
  none for an unknown age (see the age codes above); offense_seqs = the offense_seq of
  each NIBRS_VICTIM_OFFENSE link, space-separated. No names or contacts (NIBRS has none).
  extra: VICTIM_ID, and `relationships`, a JSON list with one object per
  NIBRS_VICTIM_OFFENDER_REL row of the victim: offender_id, offender_person_seq,
  code and name (NIBRS_RELATIONSHIP).
- persons, role offender: one per NIBRS_OFFENDER row. person_seq continues after the
  incident's highest VICTIM_SEQ_NUM, in OFFENDER_SEQ_NUM order (00 = unknown offender comes
  first), so it stays unique within the report; age as for victims.
  extra: OFFENDER_ID, OFFENDER_SEQ_NUM.
- persons, role arrestee: one per NIBRS_ARRESTEE row, numbered after the offenders in
  ARRESTEE_SEQ_NUM order; age as above. extra: ARRESTEE_ID, ARRESTEE_SEQ_NUM, ARREST_DATE (as
  YYYY-MM-DD when readable).

Never a dropped row: a child whose INCIDENT_ID has no incident row is still emitted under that
report_number (the loader decides). A date in no known format keeps its raw text in the value
and sets `problem`, so the row is quarantined. Dates are accepted as `18-JAN-18` (DD-MON-YY;
two-digit years 69-99 are 19xx, 00-68 are 20xx), `2018-01-18`, `2018-01-18 00:00:00` and
`01/18/2018`. `row_number` is the 1-based data row in the FBI file the record came from.

Records are yielded table by table: incidents, offenses, victims, offenders, arrestees. The
lookup tables and the per-incident numbering are held in dicts (a state-year has tens of
thousands of rows); the big tables are streamed with the csv module.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ingest.contract import table_spec
from ingest.csv_guard import guarded_rows
from ingest.records import ContractTable, FileRejected, Record

INCIDENT = "NIBRS_incident.csv"
OFFENSE = "NIBRS_OFFENSE.csv"
OFFENSE_TYPE = "NIBRS_OFFENSE_TYPE.csv"
VICTIM = "NIBRS_VICTIM.csv"
VICTIM_TYPE = "NIBRS_VICTIM_TYPE.csv"
VICTIM_OFFENSE = "NIBRS_VICTIM_OFFENSE.csv"
OFFENDER = "NIBRS_OFFENDER.csv"
VICTIM_OFFENDER_REL = "NIBRS_VICTIM_OFFENDER_REL.csv"
RELATIONSHIP = "NIBRS_RELATIONSHIP.csv"
ARRESTEE = "NIBRS_ARRESTEE.csv"
AGENCIES = "agencies.csv"
AGE = "NIBRS_AGE.csv"  # optional: which age code each AGE_ID is

# Every table the adapter reads, with the columns its mapping cannot do without (older layout;
# CURRENT_LAYOUT_COLUMNS says what differs). Columns that only feed `extra` or refine a value
# (AGE_ID, ARREST_DATE) are optional.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    INCIDENT: (
        "INCIDENT_ID",
        "AGENCY_ID",
        "INCIDENT_DATE",
        "INCIDENT_HOUR",
        "SUBMISSION_DATE",
        "CLEARED_EXCEPT_ID",
    ),
    OFFENSE: ("OFFENSE_ID", "INCIDENT_ID", "OFFENSE_TYPE_ID", "ATTEMPT_COMPLETE_FLAG"),
    OFFENSE_TYPE: ("OFFENSE_TYPE_ID", "OFFENSE_CODE", "OFFENSE_NAME", "CRIME_AGAINST"),
    VICTIM: ("VICTIM_ID", "INCIDENT_ID", "VICTIM_SEQ_NUM", "VICTIM_TYPE_ID", "AGE_NUM"),
    VICTIM_TYPE: ("VICTIM_TYPE_ID", "VICTIM_TYPE_NAME"),
    VICTIM_OFFENSE: ("VICTIM_ID", "OFFENSE_ID"),
    OFFENDER: ("OFFENDER_ID", "INCIDENT_ID", "OFFENDER_SEQ_NUM", "AGE_NUM"),
    VICTIM_OFFENDER_REL: ("VICTIM_ID", "OFFENDER_ID", "RELATIONSHIP_ID"),
    RELATIONSHIP: ("RELATIONSHIP_ID", "RELATIONSHIP_CODE", "RELATIONSHIP_NAME"),
    ARRESTEE: ("ARRESTEE_ID", "INCIDENT_ID", "ARRESTEE_SEQ_NUM", "AGE_NUM"),
    AGENCIES: ("AGENCY_ID", "ORI"),
}
# The current layout keys offense types by their code.
CURRENT_LAYOUT_COLUMNS: dict[str, tuple[str, ...]] = {
    **REQUIRED_COLUMNS,
    OFFENSE: ("OFFENSE_ID", "INCIDENT_ID", "OFFENSE_CODE", "ATTEMPT_COMPLETE_FLAG"),
    OFFENSE_TYPE: ("OFFENSE_CODE", "OFFENSE_NAME", "CRIME_AGAINST"),
}
AGE_COLUMNS = ("AGE_ID", "AGE_CODE")

# NIBRS_VICTIM_TYPE.VICTIM_TYPE_NAME (lower case) -> contract victim_type.
VICTIM_TYPE_NAMES: dict[str, str] = {
    "individual": "individual",
    "business": "business",
    "financial institution": "financial_institution",
    "government": "government",
    "religious organization": "religious_organization",
    "society/public": "society",
    "law enforcement officer": "law_enforcement",
    "other": "other",
    "unknown": "unknown",
}

NOT_CLEARED_EXCEPTIONALLY = "6"  # NIBRS_CLEARED_EXCEPT "N", Not Applicable
UNDER_ONE_YEAR_CODES = frozenset({"NN", "NB", "BB"})  # under 24 hours, 1-6 days, 7-364 days
UNKNOWN_AGE_CODES = frozenset({"00", "NS"})  # unknown, not specified: never age 0
OVER_98_CODE = "99"  # 99 years or over
# NIBRS_AGE of the older layout, for a folder without that table.
OLDER_LAYOUT_AGE_CODES: dict[str, str] = {
    "0": "NS",
    "1": "NN",
    "2": "NB",
    "3": "BB",
    "4": "00",
    "5": "AG",
    "6": "99",
}

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
    )
}
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DD_MON_YY = re.compile(r"^(\d{1,2})-([A-Za-z]{3})-(\d{2}|\d{4})" + _TIME + "$")
_YYYY_MM_DD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME + "$")
_MM_DD_YYYY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME + "$")


# --- pure value mapping -------------------------------------------------------------------


def parse_fbi_date(text: str) -> dt.date | None:
    """A date in any format the FBI has shipped CDE tables in; None when it is none of them.

    Month names are matched here rather than with strptime's %b, which depends on the locale.
    Any time of day after the date is ignored: these columns are dates.
    """
    text = text.strip()
    try:
        if match := _DD_MON_YY.match(text):
            day, month_name, year = match.groups()
            month = _MONTHS.get(month_name.upper())
            return dt.date(_full_year(year), month, int(day)) if month else None
        if match := _YYYY_MM_DD.match(text):
            year, month, day = match.groups()
            return dt.date(int(year), int(month), int(day))
        if match := _MM_DD_YYYY.match(text):
            month, day, year = match.groups()
            return dt.date(int(year), int(month), int(day))
    except ValueError:  # 31-FEB-18 and the like
        return None
    return None


def _full_year(year: str) -> int:
    # The strptime %y pivot: NIBRS data starts in 1991, so 69-99 are 19xx and 00-68 are 20xx.
    if len(year) == 4:
        return int(year)
    short = int(year)
    return 1900 + short if short >= 69 else 2000 + short


def parse_hour(text: str) -> int | None:
    """INCIDENT_HOUR as 0-23; empty means unknown and is read as 0. None when not an hour."""
    text = text.strip()
    if not text:
        return 0
    if _is_number(text) and int(text) <= 23:
        return int(text)
    return None


def fbi_datetime(
    date_text: str, hour_text: str, date_column: str, hour_column: str = "INCIDENT_HOUR"
) -> tuple[str | None, str | None]:
    """(contract date-time value, problem). An unreadable date or hour keeps the raw text, which
    is not ISO 8601, and names the column in the problem (never the value)."""
    if not date_text:
        return None, None
    date = parse_fbi_date(date_text)
    if date is None:
        return date_text, f"{date_column} is not a date in a known FBI format"
    hour = parse_hour(hour_text)
    if hour is None:
        return f"{date.isoformat()}T{hour_text}", f"{hour_column} is not an hour from 0 to 23"
    return f"{date.isoformat()}T{hour:02d}:00:00", None


def case_status(cleared_except_id: str) -> str | None:
    if not cleared_except_id:
        return None
    return "open" if cleared_except_id == NOT_CLEARED_EXCEPTIONALLY else "cleared_exceptional"


def victim_type(type_name: str | None) -> str | None:
    """Contract victim_type for an FBI type name; an unknown name is passed on as is, so the
    contract's choice check quarantines it with a clear reason."""
    if not type_name:
        return None
    return VICTIM_TYPE_NAMES.get(type_name.strip().lower(), type_name)


def attempted(flag: str) -> str | None:
    return {"A": "Y", "C": "N"}.get(flag.strip().upper())


def age(age_num: str, age_id: str, age_codes: Mapping[str, str] = OLDER_LAYOUT_AGE_CODES) -> str | None:
    """Contract age (whole years) from AGE_NUM and AGE_ID: an age code in either wins (under one
    year is 0, unknown is None, 99 is 99); otherwise AGE_NUM as it is, which the contract check
    quarantines when it is not a number."""
    value = age_num.strip().upper()
    for code in (value, age_codes.get(age_id.strip(), "")):
        if code in UNDER_ONE_YEAR_CODES:
            return "0"
        if code in UNKNOWN_AGE_CODES:
            return None
        if code == OVER_98_CODE:
            return OVER_98_CODE
    if _is_number(value):
        return value.lstrip("0") or "0"
    return value or None


def _iso_date_or_raw(text: str) -> str:
    """For dates kept in `extra`: ISO 8601 when readable, so every FBI date format reads the same."""
    date = parse_fbi_date(text) if text else None
    return date.isoformat() if date else text


def _id_key(text: str) -> tuple[int, int, str]:
    """Sort key for FBI ids and sequence numbers: numerically, anything else after them."""
    return (0, int(text), "") if _is_number(text) else (1, 0, text)


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()  # str.isdigit alone accepts "²", which int() refuses


def _join_problems(*problems: str | None) -> str | None:
    unique = dict.fromkeys(problem for problem in problems if problem)
    return "; ".join(unique) or None


def _contract_values(table: ContractTable, given: Mapping[str, str | None]) -> dict[str, str | None]:
    """Every contract column of `table`, None where NIBRS has nothing; empty text becomes None."""
    values: dict[str, str | None] = dict.fromkeys(table_spec(table).column_names)
    unknown = set(given) - set(values)
    if unknown:
        raise ValueError(f"not {table} columns: {sorted(unknown)}")
    values.update({column: value or None for column, value in given.items()})
    return values


def _extra(**columns: str | None) -> dict[str, str] | None:
    kept = {name: value for name, value in columns.items() if value}
    return kept or None


# --- reading the files --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    number: int  # 1-based data row
    cells: dict[str, str]  # upper-case column -> stripped text
    problem: str | None  # set when the row's field count differs from the header's

    def get(self, column: str) -> str:
        return self.cells.get(column, "")


def _normalise_header(header: list[str]) -> list[str]:
    return [column.strip().lstrip("\ufeff").strip().upper() for column in header]


def _read_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except (UnicodeDecodeError, csv.Error):
        raise FileRejected(f"{path.name}: the header is not readable as UTF-8 CSV") from None
    if not header:
        raise FileRejected(f"{path.name} is empty: no header row")
    return _normalise_header(header)


def _read_rows(path: Path) -> Iterator[_Row]:
    """The data rows of one FBI table, streamed; blank lines are not rows."""
    line = 1  # the header's
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = guarded_rows(handle, path.name)
            columns = _normalise_header(next(reader, []))
            number = 0
            for fields in reader:
                line += 1
                if not fields:
                    continue
                number += 1
                problem = None
                if len(fields) != len(columns):
                    problem = f"{path.name}: row has {len(fields)} fields, the header has {len(columns)}"
                cells = dict(zip(columns, (field.strip() for field in fields), strict=False))
                yield _Row(number, cells, problem)
    except UnicodeDecodeError:
        raise FileRejected(f"{path.name}: not readable as UTF-8 CSV after line {line}") from None


def _locate_tables(folder: Path) -> dict[str, Path]:
    """The path of every table, by canonical name; file names match in any letter case. The
    optional NIBRS_AGE is included when the folder has it."""
    if not folder.is_dir():
        raise FileRejected(f"{folder} is not a folder of NIBRS tables")
    candidates: defaultdict[str, list[Path]] = defaultdict(list)
    for path in folder.iterdir():
        if path.is_file():
            candidates[path.name.lower()].append(path)
    missing = [name for name in REQUIRED_COLUMNS if not candidates[name.lower()]]
    if missing:
        raise FileRejected(f"{folder}: missing NIBRS table(s) {', '.join(missing)} (names match in any case)")
    doubled = [name for name in (*REQUIRED_COLUMNS, AGE) if len(candidates[name.lower()]) > 1]
    if doubled:
        raise FileRejected(
            f"{folder}: more than one file for {', '.join(doubled)} (names differ only in case)"
        )
    present = [name for name in (*REQUIRED_COLUMNS, AGE) if candidates[name.lower()]]
    return {name: candidates[name.lower()][0] for name in present}


@dataclass(frozen=True)
class _Layout:
    name: str  # "older" (OFFENSE_TYPE_ID) or "current" (OFFENSE_CODE)
    offense_type_key: str  # the NIBRS_OFFENSE column naming its NIBRS_OFFENSE_TYPE row
    columns: Mapping[str, tuple[str, ...]]


OLDER_LAYOUT = _Layout("older", "OFFENSE_TYPE_ID", REQUIRED_COLUMNS)
CURRENT_LAYOUT = _Layout("current", "OFFENSE_CODE", CURRENT_LAYOUT_COLUMNS)


def detect_layout(paths: Mapping[str, Path]) -> _Layout:
    """The CDE layout of a folder, from NIBRS_OFFENSE's header."""
    header = set(_read_header(paths[OFFENSE]))
    if "OFFENSE_TYPE_ID" in header:
        return OLDER_LAYOUT
    if "OFFENSE_CODE" in header:
        return CURRENT_LAYOUT
    raise FileRejected(
        f"{paths[OFFENSE].name} has neither OFFENSE_TYPE_ID (the older CDE layout) nor "
        "OFFENSE_CODE (the current one): not a NIBRS offense table"
    )


def _check_headers(paths: Mapping[str, Path], layout: _Layout) -> None:
    complaints = []
    expected = {**layout.columns, **({AGE: AGE_COLUMNS} if AGE in paths else {})}
    for name, path in paths.items():
        present = set(_read_header(path))
        missing = [column for column in expected[name] if column not in present]
        if missing:
            complaints.append(f"{path.name} is missing column(s) {', '.join(missing)}")
    if complaints:
        raise FileRejected(f"{layout.name} CDE layout: " + "; ".join(complaints))


# --- lookups and per-incident numbering ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _OffenseType:
    code: str
    name: str
    crime_against: str


@dataclass(frozen=True)
class _Lookups:
    oris: dict[str, str]  # AGENCY_ID -> ORI
    offense_types: dict[str, _OffenseType]  # OFFENSE_TYPE_ID (or OFFENSE_CODE) -> code, name, crime against
    age_codes: dict[str, str]  # AGE_ID -> age code (NIBRS_AGE)
    victim_type_names: dict[str, str]  # VICTIM_TYPE_ID -> VICTIM_TYPE_NAME
    relationships: dict[str, tuple[str, str]]  # RELATIONSHIP_ID -> (code, name)
    victim_offenses: dict[str, list[str]]  # VICTIM_ID -> OFFENSE_IDs
    victim_offenders: dict[str, list[tuple[str, str]]]  # VICTIM_ID -> (OFFENDER_ID, RELATIONSHIP_ID)


def _load_lookups(paths: Mapping[str, Path], layout: _Layout) -> _Lookups:
    victim_offenses: defaultdict[str, list[str]] = defaultdict(list)
    for row in _read_rows(paths[VICTIM_OFFENSE]):
        victim_offenses[row.get("VICTIM_ID")].append(row.get("OFFENSE_ID"))
    victim_offenders: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in _read_rows(paths[VICTIM_OFFENDER_REL]):
        victim_offenders[row.get("VICTIM_ID")].append((row.get("OFFENDER_ID"), row.get("RELATIONSHIP_ID")))
    return _Lookups(
        # A multi-year agencies file repeats an AGENCY_ID; its ORI does not change.
        oris={row.get("AGENCY_ID"): row.get("ORI") for row in _read_rows(paths[AGENCIES])},
        offense_types={
            row.get(layout.offense_type_key): _OffenseType(
                row.get("OFFENSE_CODE"), row.get("OFFENSE_NAME"), row.get("CRIME_AGAINST")
            )
            for row in _read_rows(paths[OFFENSE_TYPE])
        },
        age_codes=(
            {row.get("AGE_ID"): row.get("AGE_CODE").upper() for row in _read_rows(paths[AGE])}
            if AGE in paths
            else dict(OLDER_LAYOUT_AGE_CODES)
        ),
        victim_type_names={
            row.get("VICTIM_TYPE_ID"): row.get("VICTIM_TYPE_NAME") for row in _read_rows(paths[VICTIM_TYPE])
        },
        relationships={
            row.get("RELATIONSHIP_ID"): (row.get("RELATIONSHIP_CODE"), row.get("RELATIONSHIP_NAME"))
            for row in _read_rows(paths[RELATIONSHIP])
        },
        victim_offenses=dict(victim_offenses),
        victim_offenders=dict(victim_offenders),
    )


@dataclass(frozen=True, slots=True)
class _Ranked:
    incident_id: str
    own_id: str  # OFFENSE_ID, OFFENDER_ID or ARRESTEE_ID
    rank: int  # 1-based within the incident


def _rank_within_incident(path: Path, id_column: str, seq_column: str | None = None) -> dict[int, _Ranked]:
    """Data row -> its rank among the rows of the same INCIDENT_ID, ordered by `seq_column`
    (when given), then by id, then by row, so ranks are unique even when ids repeat."""
    groups: defaultdict[str, list[tuple[tuple[object, ...], int, str]]] = defaultdict(list)
    for row in _read_rows(path):
        own_id = row.get(id_column)
        seq_key = _id_key(row.get(seq_column)) if seq_column else ()
        groups[row.get("INCIDENT_ID")].append(((seq_key, _id_key(own_id)), row.number, own_id))
    ranked: dict[int, _Ranked] = {}
    for incident_id, members in groups.items():
        for rank, (_, number, own_id) in enumerate(sorted(members), start=1):
            ranked[number] = _Ranked(incident_id, own_id, rank)
    return ranked


def _highest_victim_seqs(path: Path) -> dict[str, int]:
    """INCIDENT_ID -> highest numeric VICTIM_SEQ_NUM; offenders are numbered after it."""
    highest: defaultdict[str, int] = defaultdict(int)
    for row in _read_rows(path):
        seq = row.get("VICTIM_SEQ_NUM")
        if _is_number(seq):
            incident_id = row.get("INCIDENT_ID")
            highest[incident_id] = max(highest[incident_id], int(seq))
    return dict(highest)


def _count_per_incident(ranked: Mapping[int, _Ranked]) -> dict[str, int]:
    counts: defaultdict[str, int] = defaultdict(int)
    for item in ranked.values():
        counts[item.incident_id] = max(counts[item.incident_id], item.rank)
    return dict(counts)


def _rank(ranked: Mapping[int, _Ranked], row: _Row, table: str) -> int:
    item = ranked.get(row.number)
    if item is None or item.incident_id != row.get("INCIDENT_ID"):
        raise FileRejected(f"{table} changed while it was being read")
    return item.rank


@dataclass(frozen=True)
class _Numbering:
    offenses: dict[int, _Ranked]  # NIBRS_OFFENSE row -> offense_seq
    offense_by_id: dict[str, tuple[str, int]]  # OFFENSE_ID -> (INCIDENT_ID, offense_seq)
    victim_base: dict[str, int]  # INCIDENT_ID -> person_seq offenders start after
    offenders: dict[int, _Ranked]  # NIBRS_OFFENDER row -> rank
    offender_by_id: dict[str, tuple[str, int]]  # OFFENDER_ID -> (INCIDENT_ID, person_seq)
    arrestee_base: dict[str, int]  # INCIDENT_ID -> person_seq arrestees start after
    arrestees: dict[int, _Ranked]  # NIBRS_ARRESTEE row -> rank


def _number(paths: Mapping[str, Path]) -> _Numbering:
    offenses = _rank_within_incident(paths[OFFENSE], "OFFENSE_ID")
    victim_base = _highest_victim_seqs(paths[VICTIM])
    offenders = _rank_within_incident(paths[OFFENDER], "OFFENDER_ID", "OFFENDER_SEQ_NUM")
    offender_counts = _count_per_incident(offenders)
    arrestee_base = {
        incident_id: victim_base.get(incident_id, 0) + offender_counts.get(incident_id, 0)
        for incident_id in victim_base.keys() | offender_counts.keys()
    }
    offense_by_id: dict[str, tuple[str, int]] = {}
    for item in sorted(offenses.values(), key=lambda item: item.rank, reverse=True):
        offense_by_id[item.own_id] = (item.incident_id, item.rank)  # a repeated id keeps its lowest seq
    offender_by_id: dict[str, tuple[str, int]] = {}
    for item in sorted(offenders.values(), key=lambda item: item.rank, reverse=True):
        person_seq = victim_base.get(item.incident_id, 0) + item.rank
        offender_by_id[item.own_id] = (item.incident_id, person_seq)
    return _Numbering(
        offenses=offenses,
        offense_by_id=offense_by_id,
        victim_base=victim_base,
        offenders=offenders,
        offender_by_id=offender_by_id,
        arrestee_base=arrestee_base,
        arrestees=_rank_within_incident(paths[ARRESTEE], "ARRESTEE_ID", "ARRESTEE_SEQ_NUM"),
    )


# --- records ------------------------------------------------------------------------------


def _incident_record(row: _Row, oris: Mapping[str, str]) -> Record:
    ori = oris.get(row.get("AGENCY_ID")) or None
    occurred_at, date_problem = fbi_datetime(
        row.get("INCIDENT_DATE"), row.get("INCIDENT_HOUR"), "INCIDENT_DATE"
    )
    update_column = "SUBMISSION_DATE" if row.get("SUBMISSION_DATE") else "INCIDENT_DATE"
    updated_at, update_problem = fbi_datetime(row.get(update_column), "", update_column)
    values = {
        "report_number": row.get("INCIDENT_ID"),
        "agency_ori": ori,
        "reported_at": occurred_at,  # NIBRS has one date-time per incident
        "occurred_at": occurred_at,
        "division": ori,
        "case_status": case_status(row.get("CLEARED_EXCEPT_ID")),
        "updated_at": updated_at,
    }
    agency_problem = None if ori else f"AGENCY_ID has no ORI in {AGENCIES}"
    return Record(
        table="incidents",
        row_number=row.number,
        values=_contract_values("incidents", values),
        extra=_extra(AGENCY_ID=row.get("AGENCY_ID")),
        problem=_join_problems(row.problem, date_problem, update_problem, agency_problem),
    )


def _offense_record(row: _Row, lookups: _Lookups, numbering: _Numbering, layout: _Layout) -> Record:
    offense_type = lookups.offense_types.get(row.get(layout.offense_type_key))
    own_code = row.get("OFFENSE_CODE") if layout is CURRENT_LAYOUT else None
    values = {
        "report_number": row.get("INCIDENT_ID"),
        "offense_seq": str(_rank(numbering.offenses, row, OFFENSE)),
        # An unknown OFFENSE_TYPE_ID leaves nibrs_code empty: the contract check quarantines it.
        "nibrs_code": own_code or (offense_type.code if offense_type else None),
        "description": offense_type.name if offense_type else None,
        "attempted": attempted(row.get("ATTEMPT_COMPLETE_FLAG")),
    }
    return Record(
        table="offenses",
        row_number=row.number,
        values=_contract_values("offenses", values),
        extra=_extra(
            OFFENSE_ID=row.get("OFFENSE_ID"),
            CRIME_AGAINST=offense_type.crime_against if offense_type else None,
        ),
        problem=row.problem,
    )


def _victim_offense_seqs(
    victim_id: str, incident_id: str, lookups: _Lookups, numbering: _Numbering
) -> tuple[str | None, str | None]:
    """(offense_seqs, problem). A victim whose links all miss the incident's offenses gets a
    problem: left empty, offense_seqs would mean "linked to every offense"."""
    links = lookups.victim_offenses.get(victim_id, [])
    seqs = set()
    for offense_id in links:
        found = numbering.offense_by_id.get(offense_id)
        if found and found[0] == incident_id:
            seqs.add(found[1])
    if links and not seqs:
        return None, f"the victim's {VICTIM_OFFENSE} links name no offense of its incident"
    return " ".join(str(seq) for seq in sorted(seqs)) or None, None


def _relationships(victim_id: str, incident_id: str, lookups: _Lookups, numbering: _Numbering) -> str | None:
    entries = []
    for offender_id, relationship_id in lookups.victim_offenders.get(victim_id, []):
        code, name = lookups.relationships.get(relationship_id, ("", ""))
        offender = numbering.offender_by_id.get(offender_id)
        entries.append(
            {
                "offender_id": offender_id,
                "offender_person_seq": offender[1] if offender and offender[0] == incident_id else None,
                "relationship_id": relationship_id,
                "code": code or None,
                "name": name or None,
            }
        )
    return json.dumps(entries) if entries else None


def _victim_record(row: _Row, lookups: _Lookups, numbering: _Numbering) -> Record:
    victim_id, incident_id = row.get("VICTIM_ID"), row.get("INCIDENT_ID")
    offense_seqs, link_problem = _victim_offense_seqs(victim_id, incident_id, lookups, numbering)
    values = {
        "report_number": incident_id,
        "person_seq": row.get("VICTIM_SEQ_NUM"),
        "role": "victim",
        "victim_type": victim_type(lookups.victim_type_names.get(row.get("VICTIM_TYPE_ID"))),
        "age": age(row.get("AGE_NUM"), row.get("AGE_ID"), lookups.age_codes),
        "offense_seqs": offense_seqs,
    }
    return Record(
        table="persons",
        row_number=row.number,
        values=_contract_values("persons", values),
        extra=_extra(
            VICTIM_ID=victim_id, relationships=_relationships(victim_id, incident_id, lookups, numbering)
        ),
        problem=_join_problems(row.problem, link_problem),
    )


def _offender_record(row: _Row, numbering: _Numbering, lookups: _Lookups) -> Record:
    incident_id = row.get("INCIDENT_ID")
    person_seq = numbering.victim_base.get(incident_id, 0) + _rank(numbering.offenders, row, OFFENDER)
    values = {
        "report_number": incident_id,
        "person_seq": str(person_seq),
        "role": "offender",
        "age": age(row.get("AGE_NUM"), row.get("AGE_ID"), lookups.age_codes),
    }
    return Record(
        table="persons",
        row_number=row.number,
        values=_contract_values("persons", values),
        extra=_extra(OFFENDER_ID=row.get("OFFENDER_ID"), OFFENDER_SEQ_NUM=row.get("OFFENDER_SEQ_NUM")),
        problem=row.problem,
    )


def _arrestee_record(row: _Row, numbering: _Numbering, lookups: _Lookups) -> Record:
    incident_id = row.get("INCIDENT_ID")
    person_seq = numbering.arrestee_base.get(incident_id, 0) + _rank(numbering.arrestees, row, ARRESTEE)
    values = {
        "report_number": incident_id,
        "person_seq": str(person_seq),
        "role": "arrestee",
        "age": age(row.get("AGE_NUM"), row.get("AGE_ID"), lookups.age_codes),
    }
    return Record(
        table="persons",
        row_number=row.number,
        values=_contract_values("persons", values),
        extra=_extra(
            ARRESTEE_ID=row.get("ARRESTEE_ID"),
            ARRESTEE_SEQ_NUM=row.get("ARRESTEE_SEQ_NUM"),
            ARREST_DATE=_iso_date_or_raw(row.get("ARREST_DATE")),
        ),
        problem=row.problem,
    )


class NibrsCdeSource:
    """A folder of FBI CDE NIBRS master-file tables (one state, one or more years)."""

    format = "nibrs-cde"
    unavailable_columns: frozenset[str] = frozenset({"officer_name"})

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.source_rows: int | None = None  # rows of the FBI tables read, once records() ran

    @property
    def name(self) -> str:
        return str(self.folder)

    def content_files(self) -> list[Path]:
        """The tables the adapter reads, sorted; raises FileRejected when one is missing."""
        return sorted(_locate_tables(self.folder).values())

    def records(self) -> Iterator[Record]:
        paths = _locate_tables(self.folder)
        # Every header is checked before the first record, so a bad folder yields nothing.
        layout = detect_layout(paths)
        _check_headers(paths, layout)
        lookups = _load_lookups(paths, layout)
        numbering = _number(paths)
        self.source_rows = 0
        for row in _read_rows(paths[INCIDENT]):
            self.source_rows += 1
            yield _incident_record(row, lookups.oris)
        for row in _read_rows(paths[OFFENSE]):
            self.source_rows += 1
            yield _offense_record(row, lookups, numbering, layout)
        for row in _read_rows(paths[VICTIM]):
            self.source_rows += 1
            yield _victim_record(row, lookups, numbering)
        for row in _read_rows(paths[OFFENDER]):
            self.source_rows += 1
            yield _offender_record(row, numbering, lookups)
        for row in _read_rows(paths[ARRESTEE]):
            self.source_rows += 1
            yield _arrestee_record(row, numbering, lookups)
