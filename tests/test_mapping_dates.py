"""Dates are refused, not guessed: a date_format the file contradicts, or cannot prove, rejects the
whole file with the column and the fix; `coalesce` and `datetime` read values no template can.

Pure: no database (the load through the loader is in test_ingest_cli.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ingest.adapters.mapping import MappedCsvSource, MappingError, parse_mapping
from ingest.dates import DateTally, date_problems, swapped_format
from ingest.records import FileRejected
from vnotify.config import load_config

CONFIG = load_config()
HEADER = ["Case", "Reported", "Officer", "District", "Updated", "Alt Phone", "Phone", "Day", "Time"]


def _mapping(reported: str, extra_columns: str = "") -> str:
    return f"""
tables:
  incidents:
    columns:
      report_number: Case
      reported_at: {reported}
      division: {{column: District, division_from_config: true}}
      officer_name: Officer
      updated_at: {{column: Updated, date_format: "%Y-%m-%d %H:%M"}}
{extra_columns}
"""


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in HEADER})
    return path


def _row(case: str, reported: str, **cells: str) -> dict[str, str]:
    return {
        "Case": case,
        "Reported": reported,
        "Officer": "Diaz",
        "District": "1",
        "Updated": "2021-05-01 10:00",
        **cells,
    }


def _source(path: Path, mapping: str) -> MappedCsvSource:
    return MappedCsvSource(path, parse_mapping(mapping), config=CONFIG)


MONTH_FIRST = '{column: Reported, date_format: "%m/%d/%Y %H:%M"}'


def test_day_first_dates_under_a_month_first_format_reject_the_file(tmp_path: Path):
    # 04/02/2021 reads as April 2 either way round; 25/02/2021 fits only day-first: the file is
    # day-first, so the 04/02 it did read would have been stored swapped.
    rows = [_row(f"R-{n}", f"{day:02d}/02/2021 10:00") for n, day in enumerate((4, 9, 25, 28, 13), start=1)]
    source = _source(_csv(tmp_path / "export.csv", rows), _mapping(MONTH_FIRST))
    with pytest.raises(FileRejected) as rejected:
        list(source.records())
    message = str(rejected.value)
    assert "incidents.reported_at" in message and "data row 3" in message
    assert "'%d/%m/%Y %H:%M'" in message  # the fix
    assert "R-1" not in message and "25/02" not in message  # never a value


def test_a_file_whose_days_are_all_twelve_or_less_cannot_prove_its_format(tmp_path: Path):
    rows = [_row(f"R-{n}", f"02/{day:02d}/2021 10:00") for n, day in enumerate((1, 4, 12), start=1)]
    path = _csv(tmp_path / "export.csv", rows)
    with pytest.raises(FileRejected, match="date_format_checked: true"):
        list(_source(path, _mapping(MONTH_FIRST)).records())
    checked = '{column: Reported, date_format: "%m/%d/%Y %H:%M", date_format_checked: true}'
    records = [r for r in _source(path, _mapping(checked)).records() if r.table == "incidents"]
    assert [r.values["reported_at"] for r in records] == [
        "2021-02-01T10:00:00",
        "2021-02-04T10:00:00",
        "2021-02-12T10:00:00",
    ]


def test_one_date_that_cannot_be_swapped_proves_the_whole_file(tmp_path: Path):
    rows = [_row("R-1", "02/04/2021 10:00"), _row("R-2", "02/19/2021 10:00")]
    records = list(_source(_csv(tmp_path / "export.csv", rows), _mapping(MONTH_FIRST)).records())
    assert [r.values["reported_at"] for r in records] == ["2021-02-04T10:00:00", "2021-02-19T10:00:00"]


def test_year_first_and_same_day_and_month_dates_are_never_ambiguous():
    assert swapped_format("%Y-%m-%d %H:%M") is None
    assert swapped_format("%d.%m.%Y") == "%m.%d.%Y"
    tally = DateTally(("%m/%d/%Y",))
    for row, value in enumerate(("03/03/2021", "07/07/2021"), start=1):
        tally.add(value, row)
    assert tally.fits["%m/%d/%Y"] == 2 and not tally.ambiguous
    assert date_problems("x", tally, tally.decisive, False, "here") == []


def test_coalesce_takes_the_first_non_empty_column(tmp_path: Path):
    mapping = _mapping(MONTH_FIRST.replace("}", ", date_format_checked: true}"))
    mapping = mapping.replace(
        "  incidents:",
        """  persons:
    columns:
      report_number: Case
      person_seq: {constant: "1"}
      role: {constant: victim}
      victim_type: {constant: individual}
      phone: {coalesce: [Phone, Alt Phone]}
  incidents:""",
    )
    rows = [
        _row("R-1", "02/04/2021 10:00", Phone="520-555-0101", **{"Alt Phone": "520-555-0199"}),
        _row("R-2", "02/04/2021 10:00", Phone=" ", **{"Alt Phone": "520-555-0102"}),
        _row("R-3", "02/04/2021 10:00"),
    ]
    people = [r for r in _source(_csv(tmp_path / "e.csv", rows), mapping).records() if r.table == "persons"]
    assert [p.values["phone"] for p in people] == ["520-555-0101", "520-555-0102", None]


def test_datetime_joins_a_date_and_a_time_column(tmp_path: Path):
    reported = '{datetime: {date: Day, time: Time, formats: ["%m/%d/%Y %H%M", "%m/%d/%Y %H:%M"]}}'
    rows = [
        _row("R-1", "", Day="02/19/2021", Time="0930"),
        _row("R-2", "", Day="02/20/2021", Time="21:05"),
        _row("R-3", "", Day="02/21/2021", Time=""),  # no time: never midnight
    ]
    records = [r for r in _source(_csv(tmp_path / "e.csv", rows), _mapping(reported)).records()]
    assert [r.values["reported_at"] for r in records] == [
        "2021-02-19T09:30:00",
        "2021-02-20T21:05:00",
        "02/21/2021",
    ]


def test_datetime_dates_are_checked_like_any_other(tmp_path: Path):
    reported = '{datetime: {date: Day, time: Time, formats: "%m/%d/%Y %H%M"}}'
    rows = [_row("R-1", "", Day="19/02/2021", Time="0930"), _row("R-2", "", Day="04/02/2021", Time="0930")]
    with pytest.raises(FileRejected, match=r"incidents\.reported_at.*'%d/%m/%Y %H%M'"):
        list(_source(_csv(tmp_path / "e.csv", rows), _mapping(reported)).records())


@pytest.mark.parametrize(
    "reported, expected",
    [
        ('{datetime: {date: Day, time: Time, formats: "%m/%d/%Y"}}', "the format needs a time"),
        (
            '{coalesce: [Day, Time], datetime: {date: Day, time: Time, formats: "%m/%d/%Y %H%M"}}',
            "exactly one of",
        ),
        ("{column: Reported, date_format_checked: true}", "date_format_checked goes with date_format"),
    ],
)
def test_new_mapping_fields_are_checked_when_the_mapping_loads(reported: str, expected: str):
    with pytest.raises(MappingError, match=expected):
        parse_mapping(_mapping(reported))
