"""The mapping adapter: an agency CSV plus a mapping file become contract records, no code.

Pure: no database. The shipped city open-data example is the main fixture.
"""

from __future__ import annotations

import csv
import functools
import random
import re
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.adapters.mapping import (
    MappedCsvSource,
    Mapping,
    MappingError,
    iso_datetime,
    load_mapping,
    look_up,
    parse_mapping,
    render_template,
    split_take,
)
from ingest.contract import validate_row
from ingest.records import FileRejected, Record
from vnotify.config import AgencyConfig, load_config
from vnotify.paths import REPO_ROOT, SAMPLE_CONFIG

EXAMPLES = REPO_ROOT / "examples" / "mappings"
EXAMPLE_MAPPING = EXAMPLES / "city-open-data.yaml"
EXAMPLE_CSV = EXAMPLES / "city-open-data-sample.csv"
CONFIG: AgencyConfig = load_config(SAMPLE_CONFIG)
# Reports the sample breaks on purpose (unknown district; report date without a time).
BROKEN_INCIDENTS = {"25-003109": {"division"}, "25-003110": {"reported_at"}}
# Cell values of the sample that must never appear in a rejection message.
SAMPLE_VALUES = ("Lopez", "555-0123", "example.org", "25-003101")


def _records(path: Path = EXAMPLE_CSV, mapping: Mapping | None = None) -> list[Record]:
    source = MappedCsvSource(path, mapping or load_mapping(EXAMPLE_MAPPING), config=CONFIG)
    return list(source.records())


def _by_table(records: list[Record]) -> dict[str, list[Record]]:
    tables: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        tables[record.table].append(record)
    return tables


def _sample_rows() -> tuple[list[str], list[list[str]]]:
    with EXAMPLE_CSV.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def _write(path: Path, header: list[str], rows: list[list[str]], **csv_options: str) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n", **csv_options)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --- the shipped example ------------------------------------------------------------------


def test_example_splits_offense_by_victim_rows_into_three_tables():
    _header, rows = _sample_rows()
    tables = _by_table(_records())
    assert len(rows) == 30
    assert {table: len(records) for table, records in tables.items()} == {
        "incidents": 17,
        "offenses": 23,
        "persons": 22,
    }
    # Every report once, every (report, offense code) once, every (report, victim) once.
    assert len({r.values["report_number"] for r in tables["incidents"]}) == 17
    assert len({row[0] for row in rows}) == 17
    offense_keys = [(r.values["report_number"], r.values["nibrs_code"]) for r in tables["offenses"]]
    assert len(set(offense_keys)) == len(offense_keys)
    person_keys = [(r.values["report_number"], r.values["person_seq"]) for r in tables["persons"]]
    assert len(set(person_keys)) == len(person_keys)


def test_a_report_on_many_rows_is_one_incident_at_its_first_row():
    tables = _by_table(_records())
    first = [r for r in tables["incidents"] if r.values["report_number"] == "25-003101"]
    assert [r.row_number for r in first] == [1]
    assert first[0].values == {
        "report_number": "25-003101",
        "agency_ori": "AZ0109900",
        "reported_at": "2025-03-03T08:15:00",
        "occurred_at": "2025-03-02T23:30:00",
        "division": "WEST",
        "beat": "1A2",
        "officer_id": "4411",
        "officer_name": "ANA REYES",
        "case_status": "open",
        "domestic_violence": "N",
        "updated_at": "2025-03-03T09:02:11",
    }
    # Unmapped source columns ride along on the incident only.
    assert first[0].extra == {"Block Address": "1200 BLOCK W SPEEDWAY BLVD"}
    assert all(r.extra is None for r in tables["offenses"] + tables["persons"])


def test_sequences_count_per_report_in_order_of_first_appearance():
    tables = _by_table(_records())
    offenses = {
        (r.values["report_number"], r.values["nibrs_code"]): (r.values["offense_seq"], r.row_number)
        for r in tables["offenses"]
    }
    # 25-003113's offenses are on rows 13, 22 and 27, far apart.
    assert offenses[("25-003113", "220")] == ("1", 13)
    assert offenses[("25-003113", "23H")] == ("2", 22)
    assert offenses[("25-003113", "290")] == ("3", 27)
    assert offenses[("25-003105", "240")] == ("1", 4)
    assert offenses[("25-003105", "23H")] == ("2", 9)
    for report, seqs in _seqs_by_report(tables["offenses"], "offense_seq").items():
        assert seqs == list(range(1, len(seqs) + 1)), report
    for report, seqs in _seqs_by_report(tables["persons"], "person_seq").items():
        assert seqs == list(range(1, len(seqs) + 1)), report


def _seqs_by_report(records: list[Record], column: str) -> dict[str, list[int]]:
    seqs: dict[str, list[int]] = defaultdict(list)
    for record in records:
        seqs[record.values["report_number"] or ""].append(int(record.values[column] or 0))
    return seqs


def test_victims_link_to_the_offenses_on_their_rows():
    persons = {
        (r.values["report_number"], r.values["first_name"], r.values["last_name"]): r
        for r in _by_table(_records())["persons"]
    }
    maria = persons[("25-003101", "Maria", "Lopez")]
    daniel = persons[("25-003101", "Daniel", "Ortiz")]
    # Maria is on the 23F (seq 1) and 290 (seq 2) rows; Daniel only on the 290 row (row 8).
    assert (maria.values["person_seq"], maria.values["offense_seqs"], maria.row_number) == ("1", "1 2", 1)
    assert (daniel.values["person_seq"], daniel.values["offense_seqs"], daniel.row_number) == ("2", "2", 8)
    assert persons[("25-003113", "James", "Carter")].values["offense_seqs"] == "1 2 3"
    assert persons[("25-003105", "Priya", "Shah")].values["offense_seqs"] == "1 2"


def test_values_are_translated_per_the_mapping():
    tables = _by_table(_records())
    divisions = {r.values["report_number"]: r.values["division"] for r in tables["incidents"]}
    assert [divisions[f"25-0031{n:02d}"] for n in (1, 2, 3, 4)] == ["WEST", "MID", "SOUTH", "EAST"]
    assert divisions["25-003109"] is None  # District 9 is no division: quarantined, not guessed
    incidents = {r.values["report_number"]: r.values for r in tables["incidents"]}
    assert incidents["25-003102"]["occurred_at"] == "2025-03-01T18:00:00"  # the second date format
    assert incidents["25-003110"]["reported_at"] == "03/06/2025"  # no format fits: passed through
    assert incidents["25-003116"]["domestic_violence"] == "Y"  # YES -> Y
    assert incidents["25-003115"]["case_status"] == "suspended"  # INACTIVE -> suspended
    persons = {(r.values["report_number"], r.values["person_seq"]): r.values for r in tables["persons"]}
    assert persons[("25-003104", "1")]["victim_type"] == "business"
    assert persons[("25-003107", "2")]["victim_type"] == "financial_institution"
    assert persons[("25-003112", "2")]["age"] is None  # UNK is a null value
    assert persons[("25-003101", "1")]["email"] == "maria.lopez@example.org"  # lower: true
    assert persons[("25-003105", "1")]["last_name"] == "Álvarez"  # UTF-8 read as such


def test_a_victimless_row_yields_no_person_but_keeps_its_incident_and_offense():
    tables = _by_table(_records())
    reports = {table: {r.values["report_number"] for r in records} for table, records in tables.items()}
    assert "25-003111" in reports["incidents"] and "25-003111" in reports["offenses"]
    assert "25-003111" not in reports["persons"]


def test_example_records_validate_except_the_deliberately_broken_ones():
    broken = {}
    for record in _records():
        problems = {problem.column for problem in validate_row(record.table, record.values)}
        if problems:
            broken[(record.table, record.values["report_number"])] = problems
    assert broken == {("incidents", report): columns for report, columns in BROKEN_INCIDENTS.items()}


def test_source_protocol_attributes():
    mapping = load_mapping(EXAMPLE_MAPPING)
    source = MappedCsvSource(EXAMPLE_CSV, mapping, config=CONFIG)
    assert source.format == "mapped"
    assert source.name == str(EXAMPLE_CSV)
    # A corrected mapping makes the same CSV a new batch.
    assert source.content_files() == [EXAMPLE_CSV, EXAMPLE_MAPPING]
    assert source.unavailable_columns == frozenset()


# --- shuffled input -----------------------------------------------------------------------


def _entities(records: list[Record]) -> dict[str, set]:
    """What a report holds, independent of row order: seqs may differ, so offenses are named by
    code and victims' links are translated to codes."""
    tables = _by_table(records)
    codes = {
        (r.values["report_number"], r.values["offense_seq"]): r.values["nibrs_code"]
        for r in tables["offenses"]
    }
    persons = set()
    for r in tables["persons"]:
        report = r.values["report_number"]
        linked = frozenset(codes[(report, seq)] for seq in (r.values["offense_seqs"] or "").split())
        persons.add((report, r.values["first_name"], r.values["last_name"], r.values["victim_type"], linked))
    return {
        "incidents": {tuple(sorted(r.values.items(), key=str)) for r in tables["incidents"]},
        "offenses": {(report, code) for (report, _seq), code in codes.items()},
        "persons": persons,
    }


_HEADER, _ROWS = _sample_rows()


@functools.cache
def _baseline() -> dict[str, set]:
    return _entities(_records())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(_ROWS))
def test_shuffled_rows_yield_the_same_entities(rows: list[list[str]]):
    with tempfile.TemporaryDirectory() as folder:
        records = _records(_write(Path(folder) / "shuffled.csv", _HEADER, rows))
    assert _entities(records) == _baseline()
    tables = _by_table(records)
    for column, table in (("offense_seq", "offenses"), ("person_seq", "persons")):
        for report, seqs in _seqs_by_report(tables[table], column).items():
            assert seqs == list(range(1, len(seqs) + 1)), report


# --- rows the adapter cannot read: emitted with a problem, never dropped --------------------


def test_a_ragged_row_is_emitted_with_a_problem_and_the_rest_still_load(tmp_path: Path):
    header, rows = _sample_rows()
    rows = [list(row) for row in rows[:3]]
    rows[1] = [*rows[1], "stray"]  # one field too many
    records = _records(_write(tmp_path / "ragged.csv", header, rows))
    flagged = [r for r in records if r.problem]
    assert len(flagged) == 1
    assert flagged[0].table == "incidents" and flagged[0].row_number == 2
    assert flagged[0].problem == f"row 2 has {len(header) + 1} fields; the header has {len(header)}"
    assert flagged[0].extra is not None and flagged[0].extra["field_21"] == "stray"  # cells kept for review
    assert not any(value in flagged[0].problem for value in SAMPLE_VALUES)
    # Rows 1 and 3 still produce their records.
    assert sorted({r.row_number for r in records if not r.problem}) == [1, 3]


def test_rows_without_a_report_number_are_not_merged(tmp_path: Path):
    header, rows = _sample_rows()
    blank = [["", *row[1:]] for row in rows[:2]]
    incidents = _by_table(_records(_write(tmp_path / "blank.csv", header, blank)))["incidents"]
    assert [r.row_number for r in incidents] == [1, 2]
    assert all(validate_row("incidents", r.values)[0].column == "report_number" for r in incidents)


def test_value_map_miss_and_unmatched_date_become_quarantinable_not_exceptions(tmp_path: Path):
    header, rows = _sample_rows()
    row = list(rows[2])
    row[header.index("Victim Type")] = "ALIEN"
    row[header.index("Last Updated")] = "yesterday"
    records = _by_table(_records(_write(tmp_path / "odd.csv", header, [row])))
    person = records["persons"][0]
    incident = records["incidents"][0]
    assert person.values["victim_type"] is None
    assert {p.column for p in validate_row("persons", person.values)} == {"victim_type"}
    assert incident.values["updated_at"] == "yesterday"
    assert {p.column for p in validate_row("incidents", incident.values)} == {"updated_at"}


# --- file-level problems: the whole file is rejected, with a reason and no cell values -------


def _rejection(path: Path, mapping: Mapping | None = None) -> str:
    with pytest.raises(FileRejected) as caught:
        _records(path, mapping)
    message = str(caught.value)
    assert str(path) in message
    assert not any(value in message for value in SAMPLE_VALUES)
    return message


def test_missing_source_columns_are_named(tmp_path: Path):
    header, rows = _sample_rows()
    keep = [i for i, name in enumerate(header) if name not in ("Badge", "Victim Phone")]
    path = _write(
        tmp_path / "narrow.csv", [header[i] for i in keep], [[row[i] for i in keep] for row in rows]
    )
    message = _rejection(path)
    assert "missing columns the mapping uses: 'Badge', 'Victim Phone'" in message


def test_a_semicolon_file_read_as_comma_is_rejected_as_wrong_delimiter(tmp_path: Path):
    header, rows = _sample_rows()
    path = _write(tmp_path / "semicolon.csv", header, rows, delimiter=";")
    assert "single column containing ';'" in _rejection(path)


def test_a_tab_file_read_as_comma_is_rejected_as_wrong_delimiter(tmp_path: Path):
    header, rows = _sample_rows()
    path = _write(tmp_path / "tabs.csv", header, rows, delimiter="\t")
    assert "single column containing tab" in _rejection(path)


def test_bytes_not_in_the_declared_encoding_reject_the_file(tmp_path: Path):
    text = EXAMPLE_CSV.read_text(encoding="utf-8")
    path = tmp_path / "latin1.csv"
    path.write_bytes(text.encode("latin-1"))  # "Tomás Álvarez" is not UTF-8 any more
    assert "not readable as utf-8" in _rejection(path)
    # Declared correctly, the same bytes read fine.
    mapping = parse_mapping(EXAMPLE_MAPPING.read_text().replace("encoding: utf-8", "encoding: latin-1"))
    names = {r.values.get("last_name") for r in _records(path, mapping) if r.table == "persons"}
    assert "Álvarez" in names


def test_an_empty_file_is_rejected(tmp_path: Path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "empty file" in _rejection(path)
    path.write_bytes(b"\xef\xbb\xbf\n\n")  # a BOM and blank lines are still empty
    assert "empty file" in _rejection(path)


def test_a_bom_is_accepted_and_a_header_only_file_has_no_records(tmp_path: Path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + EXAMPLE_CSV.read_bytes())
    assert Counter(r.table for r in _records(path)) == {"incidents": 17, "offenses": 23, "persons": 22}
    header_only = _write(tmp_path / "header.csv", _HEADER, [])
    assert _records(header_only) == []


# --- the mapping file: every mistake names its field and line ------------------------------

EXAMPLE_TEXT = EXAMPLE_MAPPING.read_text()


def _line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


@pytest.mark.parametrize(
    ("old", "new", "marker", "expected"),
    [
        # (text to replace, replacement, fragment on the expected line, expected message part)
        ("beat: Beat", "beat: {colum: Beat}", "beat:", "tables.incidents.columns.beat.colum: unknown field"),
        ("beat: Beat", "beats: Beat", "beats:", "tables.incidents.columns.beats: not a column of incidents"),
        ("  persons:", "  victims:", "victims:", "tables.victims: Input should be"),
        (
            'date_format: "%m/%d/%Y %I:%M:%S %p", date_format_checked: true}\n      occurred',
            'date_format: "%m/%d/%Y", date_format_checked: true}\n      occurred',
            'date_format: "%m/%d/%Y", date_format_checked',
            "reported_at.date_format[0]: reported_at is a date-time; the format needs a time",
        ),
        (
            "role: {constant: victim}",
            "role: {constant: victim, column: Victim Type}",
            "role:",
            "tables.persons.columns.role: give exactly one of column, constant",
        ),
        (
            "          UNFOUNDED: unfounded",
            "          OPEN: closed",
            "OPEN: closed",
            "case_status.value_map.OPEN: written twice",
        ),
        ("      officer_name:", "      officer_nam:", "officer_nam:", "not a column of incidents"),
        (
            '  delimiter: ","',
            '  delimiter: ";;"',
            "delimiter:",
            "csv.delimiter: String should have at most 1",
        ),
        ("  encoding: utf-8", "  encoding: klingon", "encoding:", "csv.encoding: unknown encoding 'klingon'"),
        (
            "offense_seq: {sequence: true}",
            "offense_seq: Offense Code",
            "offense_seqs: {linked_offenses: true}",
            "linked_offenses needs offenses.offense_seq: {sequence: true}",
        ),
    ],
)
def test_mapping_mistakes_name_field_and_line(old: str, new: str, marker: str, expected: str):
    assert old in EXAMPLE_TEXT
    text = EXAMPLE_TEXT.replace(old, new, 1)
    with pytest.raises(MappingError) as caught:
        parse_mapping(text, source="city.yaml")
    lines = str(caught.value).splitlines()
    matching = [line for line in lines if expected in line]
    assert matching, lines
    assert re.match(rf"city\.yaml:{_line_of(text, marker)}: ", matching[0]), matching[0]


def test_unmapped_required_column_is_named_unless_declared_unavailable():
    officer = '      officer_name: {column: Officer, split: {on: ",", take: [1, 0], join: " "}}\n'
    assert officer in EXAMPLE_TEXT
    without = EXAMPLE_TEXT.replace(officer, "")
    with pytest.raises(MappingError) as caught:
        parse_mapping(without, source="city.yaml")
    columns_line = _line_of(without, "    columns:")  # the incidents section's columns
    assert str(caught.value) == (
        f"city.yaml:{columns_line}: tables.incidents.columns: officer_name is required in incidents; "
        "map it, or list it under unavailable_columns when the export cannot carry it"
    )
    declared = without.replace(
        "keep_unmapped: true", "keep_unmapped: true\nunavailable_columns: [officer_name]"
    )
    source = MappedCsvSource(EXAMPLE_CSV, parse_mapping(declared), config=CONFIG)
    assert source.unavailable_columns == {"officer_name"}
    assert all("officer_name" not in r.values for r in source.records() if r.table == "incidents")


def test_invalid_yaml_names_the_line():
    with pytest.raises(MappingError, match=r"^city\.yaml:3: not valid YAML: mapping values are not allowed"):
        parse_mapping("tables:\n  incidents:\n    key: Case: Number\n", source="city.yaml")


def test_codes_in_the_mapping_stay_text():
    # YAML 1.1 would read 01 as 1, yes as True and NULL as None.
    mapping = parse_mapping(
        EXAMPLE_TEXT.replace(
            "value_map: {Y: Y, YES: Y, N: N, NO: N}", "value_map: {01: Y, yes: Y, on: N, NULL: N}"
        )
    )
    value_map = mapping.tables["incidents"].columns["domestic_violence"].value_map
    assert value_map == {"01": "Y", "yes": "Y", "on": "N", "NULL": "N"}
    assert mapping.csv.null_values == ["NULL", "N/A", "UNK"]


# --- the value steps ----------------------------------------------------------------------


def test_value_steps():
    row = ["  Ana ", "", "REYES, ANA", "NULL"]
    nulls = frozenset({"null"})
    assert render_template(row, (("", 0), (" ", 1), (" ", 2)), nulls) == "Ana REYES, ANA"
    assert render_template(row, (("Name: ", 1), (" ", 3)), nulls) is None  # nothing but literals
    assert split_take("REYES, ANA", ",", [1, 0], " ") == "ANA REYES"
    assert split_take("REYES", ",", [1], " ") is None
    assert split_take("A|B|C", "|", [-1], " ") == "C"
    assert look_up(" person ", {"person": "individual"}, None) == "individual"
    assert look_up("alien", {"person": "individual"}, None) is None
    assert look_up("alien", {"person": "individual"}, "other") == "other"
    formats = ("%m/%d/%Y %I:%M:%S %p", "%Y%m%d%H%M")
    assert iso_datetime("03/04/2025 02:22:00 PM", formats, date_only=False) == "2025-03-04T14:22:00"
    assert iso_datetime("202503041422", formats, date_only=False) == "2025-03-04T14:22:00"
    assert iso_datetime("03/04/2025 02:22:00 PM", formats, date_only=True) == "2025-03-04"
    assert iso_datetime("2025-03-04T14:22:00", formats, date_only=False) == "2025-03-04T14:22:00"


def test_value_map_division_and_templates_through_a_small_mapping(tmp_path: Path):
    path = tmp_path / "cad.csv"
    path.write_text(
        "Call,Received,Area,First,Last,Phone\n"
        "C1,2025-03-04 14:22,2,Ana,Reyes,520-555-0130\n"
        "C2,2025-03-04 15:00,7,,,\n"
        "C3,2025-03-04 15:30,Midtown Division,Bo,,\n",
        encoding="utf-8",
    )
    mapping = parse_mapping(
        """
tables:
  cad_calls:
    columns:
      call_number: Call
      received_at: {column: Received, date_format: "%Y-%m-%d %H:%M"}
      division: {column: Area, division_from_config: true}
      caller_name: {template: "{First} {Last}"}
      caller_phone: Phone
      priority: {constant: "2"}
"""
    )
    calls = list(MappedCsvSource(path, mapping, config=CONFIG).records())
    assert [c.values["division"] for c in calls] == ["MID", None, "MID"]
    assert [c.values["caller_name"] for c in calls] == ["Ana Reyes", None, "Bo"]
    assert calls[0].values["received_at"] == "2025-03-04T14:22:00"
    assert {c.values["priority"] for c in calls} == {"2"}
    assert all(c.table == "cad_calls" for c in calls)


# --- scale: rows stream; no pandas, nothing but keys kept -----------------------------------

STREAM_MAPPING = """
tables:
  incidents:
    key: Case
    columns:
      report_number: Case
      reported_at: Reported
      division: {constant: WEST}
      officer_name: {constant: Officer}
      updated_at: Reported
  offenses:
    key: [Case, Code]
    columns:
      report_number: Case
      offense_seq: {sequence: true}
      nibrs_code: Code
  persons:
    key: [Case, Victim]
    columns:
      report_number: Case
      person_seq: {sequence: true}
      role: {constant: victim}
      victim_type: {constant: individual}
      offense_seqs: {linked_offenses: true}
"""


def test_a_200k_row_file_streams_without_pandas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pandas = pytest.importorskip("pandas")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the mapping adapter must stream rows, not build a data frame")

    monkeypatch.setattr(pandas, "read_csv", refuse)
    monkeypatch.setattr(pandas.DataFrame, "__init__", refuse)
    reports = 50_000  # × 2 offenses × 2 victims = 200,000 rows, shuffled
    cases = [f"R{n:06d}" for n in range(reports)]
    rows = [(case, code, victim) for case in cases for code in ("23H", "290") for victim in ("1", "2")]
    random.Random(7).shuffle(rows)
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("Case,Reported,Code,Victim\n")
        handle.writelines(f"{case},2025-03-04T14:22:00,{code},{victim}\n" for case, code, victim in rows)

    counts: Counter[str] = Counter()
    fully_linked = 0
    for record in MappedCsvSource(path, parse_mapping(STREAM_MAPPING)).records():
        counts[record.table] += 1
        fully_linked += record.values.get("offense_seqs") == "1 2"
    assert counts == {"incidents": reports, "offenses": 2 * reports, "persons": 2 * reports}
    assert fully_linked == 2 * reports
