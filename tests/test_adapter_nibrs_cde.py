"""The FBI CDE NIBRS adapter (ingest/adapters/nibrs_cde.py) on the real Minnesota 2018 extract.

Expected counts come from the FBI files themselves (read here with the csv module) or from
tests/data/nibrs-mn-2018/README.md. Variants of the folder (lower-case names, other date
formats, a missing table or column, a garbled date) are written to tmp_path from a small
subset of the extract, so they stay fast.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from ingest.adapters.nibrs_cde import CURRENT_LAYOUT, OLDER_LAYOUT, NibrsCdeSource, age, parse_fbi_date
from ingest.contract import NIBRS_CODE, validate_row
from ingest.records import FileRejected, Record

DATA = Path(__file__).parent / "data" / "nibrs-mn-2018"
CURRENT = Path(__file__).parent / "data" / "nibrs-cde-2021"
TABLE_FILES = (
    "NIBRS_AGE.csv",
    "NIBRS_ARRESTEE.csv",
    "NIBRS_OFFENDER.csv",
    "NIBRS_OFFENSE.csv",
    "NIBRS_OFFENSE_TYPE.csv",
    "NIBRS_RELATIONSHIP.csv",
    "NIBRS_VICTIM.csv",
    "NIBRS_VICTIM_OFFENDER_REL.csv",
    "NIBRS_VICTIM_OFFENSE.csv",
    "NIBRS_VICTIM_TYPE.csv",
    "NIBRS_incident.csv",
    "agencies.csv",
)
FBI_DATE = re.compile(r"^\d{2}-[A-Z]{3}-\d{2}$")

# A table in memory: its header and its data rows.
Table = tuple[list[str], list[list[str]]]


def read_table(path: Path) -> Table:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def column(table: Table, name: str) -> list[str]:
    header, rows = table
    index = header.index(name)
    return [row[index] for row in rows]


def write_tables(folder: Path, tables: Mapping[str, Table], file_name: Callable[[str], str] = str) -> Path:
    folder.mkdir(parents=True)
    for name, (header, rows) in tables.items():
        with (folder / file_name(name)).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    return folder


def by_kind(records: list[Record]) -> dict[str, list[Record]]:
    """Records grouped as incidents, offenses, victim, offender, arrestee."""
    groups: defaultdict[str, list[Record]] = defaultdict(list)
    for record in records:
        groups[record.values["role"] if record.table == "persons" else record.table].append(record)
    return groups


@pytest.fixture(scope="module")
def real_records() -> list[Record]:
    return list(NibrsCdeSource(DATA).records())


@pytest.fixture(scope="module")
def kinds(real_records: list[Record]) -> dict[str, list[Record]]:
    return by_kind(real_records)


@pytest.fixture(scope="module")
def small() -> dict[str, Table]:
    """A few dozen incidents of the real extract with all their rows, and every lookup table.

    Picked to include multi-offense incidents, victim-offender relationships, arrestees and
    exceptional clearances."""
    tables = {name: read_table(DATA / name) for name in TABLE_FILES}
    incidents = tables["NIBRS_incident.csv"]
    chosen = set(column(incidents, "INCIDENT_ID")[:15])
    statuses = zip(column(incidents, "INCIDENT_ID"), column(incidents, "CLEARED_EXCEPT_ID"), strict=True)
    cleared = [incident for incident, status in statuses if status != "6"]
    chosen |= set(cleared[:3])
    chosen |= set(column(tables["NIBRS_ARRESTEE.csv"], "INCIDENT_ID")[:5])
    offense_counts = Counter(column(tables["NIBRS_OFFENSE.csv"], "INCIDENT_ID"))
    chosen |= {incident for incident, _ in offense_counts.most_common(3)}
    related_victims = set(column(tables["NIBRS_VICTIM_OFFENDER_REL.csv"], "VICTIM_ID")[:5])
    victims = tables["NIBRS_VICTIM.csv"]
    victim_incidents = zip(column(victims, "VICTIM_ID"), column(victims, "INCIDENT_ID"), strict=True)
    chosen |= {incident for victim, incident in victim_incidents if victim in related_victims}

    def keep(name: str, key: str, wanted: set[str]) -> None:
        header, rows = tables[name]
        index = header.index(key)
        tables[name] = (header, [row for row in rows if row[index] in wanted])

    for name in (
        "NIBRS_incident.csv",
        "NIBRS_OFFENSE.csv",
        "NIBRS_VICTIM.csv",
        "NIBRS_OFFENDER.csv",
        "NIBRS_ARRESTEE.csv",
    ):
        keep(name, "INCIDENT_ID", chosen)
    kept_victims = set(column(tables["NIBRS_VICTIM.csv"], "VICTIM_ID"))
    keep("NIBRS_VICTIM_OFFENSE.csv", "VICTIM_ID", kept_victims)
    keep("NIBRS_VICTIM_OFFENDER_REL.csv", "VICTIM_ID", kept_victims)
    return tables


def small_records(folder: Path, tables: Mapping[str, Table]) -> list[Record]:
    return list(NibrsCdeSource(write_tables(folder, tables)).records())


# --- the real extract ---------------------------------------------------------------------


def test_one_record_per_source_row(kinds: dict[str, list[Record]]):
    arrestee_rows = len(read_table(DATA / "NIBRS_ARRESTEE.csv")[1])
    assert arrestee_rows > 0
    counts = {kind: len(records) for kind, records in kinds.items()}
    assert counts == {
        "incidents": 18_779,
        "offenses": 21_361,
        "victim": 21_377,
        "offender": 21_333,
        "arrestee": arrestee_rows,
    }


def test_row_numbers_are_the_data_rows_of_each_file(kinds: dict[str, list[Record]]):
    for kind, records in kinds.items():
        assert [record.row_number for record in records] == list(range(1, len(records) + 1)), kind


def test_every_record_meets_the_contract(real_records: list[Record]):
    unavailable = NibrsCdeSource(DATA).unavailable_columns
    assert unavailable == frozenset({"officer_name"})
    problems = Counter(
        (record.table, problem.reason)
        for record in real_records
        for problem in validate_row(record.table, record.values)
        if problem.column not in unavailable
    )
    assert problems == Counter()
    assert [record for record in real_records if record.problem] == []


def test_victim_types(kinds: dict[str, list[Record]]):
    types = Counter(record.values["victim_type"] for record in kinds["victim"])
    assert types["individual"] == 14_063
    assert types["society"] == 2_727  # "Society/Public" in NIBRS_VICTIM_TYPE
    assert None not in types


def test_offense_codes_have_the_nibrs_shape(kinds: dict[str, list[Record]]):
    codes = {record.values["nibrs_code"] for record in kinds["offenses"]}
    assert {"13A", "23H", "290"} <= codes
    assert [code for code in codes if not NIBRS_CODE.match(code or "")] == []


def test_attempted_follows_the_attempt_flag(kinds: dict[str, list[Record]]):
    flags = Counter(column(read_table(DATA / "NIBRS_OFFENSE.csv"), "ATTEMPT_COMPLETE_FLAG"))
    attempted = Counter(record.values["attempted"] for record in kinds["offenses"])
    assert attempted == Counter({"Y": flags["A"], "N": flags["C"]})


def test_offense_seqs_number_offenses_by_offense_id(kinds: dict[str, list[Record]]):
    per_report: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
    for record in kinds["offenses"]:
        per_report[record.values["report_number"]].append(
            (int(record.extra["OFFENSE_ID"]), int(record.values["offense_seq"]))
        )
    assert any(len(offenses) > 1 for offenses in per_report.values())
    for offenses in per_report.values():
        assert [seq for _, seq in sorted(offenses)] == list(range(1, len(offenses) + 1))


def test_victims_link_to_offenses_of_their_own_report(kinds: dict[str, list[Record]]):
    offense_seqs: defaultdict[str, set[str]] = defaultdict(set)
    for record in kinds["offenses"]:
        offense_seqs[record.values["report_number"]].add(record.values["offense_seq"])
    linked = 0
    for victim in kinds["victim"]:
        seqs = (victim.values["offense_seqs"] or "").split()
        assert seqs, victim.extra
        assert set(seqs) <= offense_seqs[victim.values["report_number"]]
        linked += len(seqs)
    assert linked == 23_401  # NIBRS_VICTIM_OFFENSE rows


def test_person_seq_unique_and_victims_first(real_records: list[Record]):
    seqs: defaultdict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for record in real_records:
        if record.table == "persons":
            seqs[record.values["report_number"]][record.values["role"]].append(
                int(record.values["person_seq"])
            )
    for report, roles in seqs.items():
        everyone = [seq for role_seqs in roles.values() for seq in role_seqs]
        assert len(everyone) == len(set(everyone)), report
        victims, offenders, arrestees = roles["victim"], roles["offender"], roles["arrestee"]
        if offenders:
            assert min(offenders) > max(victims, default=0), report
        if arrestees:
            assert min(arrestees) > max(offenders + victims, default=0), report


def test_relationships_name_the_offender_person(kinds: dict[str, list[Record]]):
    offender_seq = {
        (record.values["report_number"], record.extra["OFFENDER_ID"]): int(record.values["person_seq"])
        for record in kinds["offender"]
    }
    relationships = [
        (victim.values["report_number"], entry)
        for victim in kinds["victim"]
        if victim.extra and "relationships" in victim.extra
        for entry in json.loads(victim.extra["relationships"])
    ]
    assert len(relationships) == 4_829  # NIBRS_VICTIM_OFFENDER_REL rows
    for report, entry in relationships:
        assert entry["offender_person_seq"] == offender_seq[(report, entry["offender_id"])]
    # First row of NIBRS_VICTIM_OFFENDER_REL: victim 111053782, offender 114395641, id 26 = XS.
    first = next(v for v in kinds["victim"] if v.extra["VICTIM_ID"] == "111053782")
    entries = json.loads(first.extra["relationships"])
    assert {"offender_id": "114395641", "code": "XS", "name": "Victim was Ex-Spouse"}.items() <= entries[
        0
    ].items()


def test_incident_mapping(kinds: dict[str, list[Record]]):
    # First row: AGENCY_ID 9460, SUBMISSION_DATE 13-MAR-19, INCIDENT_DATE 18-JAN-18, hour 19.
    first = kinds["incidents"][0]
    assert first.values["report_number"] == "106124948"
    assert first.values["reported_at"] == first.values["occurred_at"] == "2018-01-18T19:00:00"
    assert first.values["updated_at"] == "2019-03-13T00:00:00"
    assert first.values["agency_ori"] == first.values["division"] == "MN0030600"
    assert first.values["officer_name"] is None
    cleared = Counter(column(read_table(DATA / "NIBRS_incident.csv"), "CLEARED_EXCEPT_ID"))
    statuses = Counter(record.values["case_status"] for record in kinds["incidents"])
    assert statuses == Counter(
        {"open": cleared["6"], "cleared_exceptional": sum(cleared.values()) - cleared["6"]}
    )


def test_content_files_are_the_tables_read():
    assert [path.name for path in NibrsCdeSource(DATA).content_files()] == sorted(TABLE_FILES)


# --- variants written to tmp_path ---------------------------------------------------------


@pytest.mark.parametrize("date_format", ["%Y-%m-%d", "%Y-%m-%d 00:00:00", "%m/%d/%Y"])
def test_lower_case_names_and_other_date_formats_give_the_same_records(
    small: dict[str, Table], tmp_path: Path, date_format: str
):
    changed_dates = 0

    def rewrite(cell: str) -> str:
        nonlocal changed_dates
        if not FBI_DATE.match(cell):
            return cell
        changed_dates += 1
        return dt.datetime.strptime(cell, "%d-%b-%y").strftime(date_format)

    variant = {
        name: ([c.lower() for c in header], [[rewrite(cell) for cell in row] for row in rows])
        for name, (header, rows) in small.items()
    }
    folder = write_tables(tmp_path / "variant", variant, file_name=str.lower)
    source = NibrsCdeSource(folder)
    assert [path.name for path in source.content_files()] == sorted(name.lower() for name in TABLE_FILES)
    expected = small_records(tmp_path / "original", small)
    assert changed_dates > 50
    assert {"incidents", "offenses", "victim", "offender", "arrestee"} <= set(by_kind(expected))
    assert list(source.records()) == expected


def test_missing_table_rejects_the_folder(small: dict[str, Table], tmp_path: Path):
    tables = {name: table for name, table in small.items() if name != "NIBRS_VICTIM.csv"}
    source = NibrsCdeSource(write_tables(tmp_path / "extract", tables))
    with pytest.raises(FileRejected, match=r"NIBRS_VICTIM\.csv"):
        source.content_files()
    with pytest.raises(FileRejected, match=r"NIBRS_VICTIM\.csv"):
        next(source.records())


def test_missing_column_rejects_the_folder_before_any_record(small: dict[str, Table], tmp_path: Path):
    header, rows = small["NIBRS_incident.csv"]
    index = header.index("INCIDENT_ID")
    tables = dict(small)
    tables["NIBRS_incident.csv"] = (
        header[:index] + header[index + 1 :],
        [row[:index] + row[index + 1 :] for row in rows],
    )
    records = NibrsCdeSource(write_tables(tmp_path / "extract", tables)).records()
    with pytest.raises(FileRejected, match=r"NIBRS_incident\.csv.*INCIDENT_ID"):
        next(records)


def test_garbled_date_is_emitted_for_quarantine(small: dict[str, Table], tmp_path: Path):
    tables = copy.deepcopy(small)
    header, rows = tables["NIBRS_incident.csv"]
    rows[0][header.index("INCIDENT_DATE")] = "18-XYZ-18"
    rows[1][header.index("SUBMISSION_DATE")] = ""  # updated_at falls back to INCIDENT_DATE
    rows[1][header.index("INCIDENT_HOUR")] = ""  # hour 00
    incidents = by_kind(small_records(tmp_path / "extract", tables))["incidents"]
    assert len(incidents) == len(rows)

    garbled = incidents[0]
    assert garbled.values["reported_at"] == "18-XYZ-18"
    flagged = {problem.column for problem in validate_row("incidents", garbled.values)}
    assert {"reported_at", "occurred_at"} <= flagged
    assert "INCIDENT_DATE" in (garbled.problem or "")

    no_submission = incidents[1]
    day = dt.datetime.strptime(rows[1][header.index("INCIDENT_DATE")], "%d-%b-%y").date().isoformat()
    assert no_submission.values["updated_at"] == no_submission.values["reported_at"] == f"{day}T00:00:00"
    assert no_submission.problem is None
    assert all(record.problem is None for record in incidents[1:])


def test_rows_of_a_missing_incident_are_still_emitted(small: dict[str, Table], tmp_path: Path):
    tables = copy.deepcopy(small)
    header, rows = tables["NIBRS_incident.csv"]
    orphaned = rows.pop(0)[header.index("INCIDENT_ID")]
    kinds = by_kind(small_records(tmp_path / "extract", tables))
    expected_victims = column(small["NIBRS_VICTIM.csv"], "INCIDENT_ID").count(orphaned)
    orphans = [r for r in kinds["victim"] if r.values["report_number"] == orphaned]
    assert expected_victims >= 1
    assert len(orphans) == expected_victims
    assert all(record.problem is None for record in orphans)
    assert any(r.values["report_number"] == orphaned for r in kinds["offenses"])


# --- value parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("18-JAN-18", dt.date(2018, 1, 18)),
        ("18-jan-18", dt.date(2018, 1, 18)),
        ("31-DEC-99", dt.date(1999, 12, 31)),
        ("2018-01-18", dt.date(2018, 1, 18)),
        ("2018-01-18 00:00:00", dt.date(2018, 1, 18)),
        ("01/18/2018", dt.date(2018, 1, 18)),
        ("", None),
        ("garbled", None),
        ("18-XYZ-18", None),
        ("31-FEB-18", None),
        ("18/01/2018", None),
    ],
)
def test_parse_fbi_date(text: str, expected: dt.date | None):
    assert parse_fbi_date(text) == expected


def test_age_reads_under_one_year_codes_as_zero():
    assert age("34", "5") == "34"
    assert age("", "3") == "0"  # NIBRS_AGE BB, 7-364 days old
    assert age("", "4") is None  # unknown


@pytest.mark.parametrize(
    "age_num, age_id, expected",
    [
        # The older layout: the code is in AGE_ID, AGE_NUM is empty.
        ("", "1", "0"),  # NN, under 24 hours
        ("", "2", "0"),  # NB, 1-6 days
        ("", "3", "0"),  # BB, 7-364 days
        ("", "4", None),  # 00, unknown: never age 0
        ("", "0", None),  # NS, not specified
        ("", "6", "99"),  # 99, over 98 years
        ("", "", None),  # a business
        ("07", "5", "7"),
        # The current layout: AGE_NUM may hold the code itself, whatever AGE_ID says.
        ("NN", "", "0"),
        ("nb", "", "0"),
        ("BB", "", "0"),
        ("00", "103", None),
        ("00", "", None),
        ("NS", "", None),
        ("99", "", "99"),
        ("42", "", "42"),
    ],
)
def test_age_codes_of_both_layouts(age_num: str, age_id: str, expected: str | None):
    assert age(age_num, age_id) == expected


def test_an_age_id_is_read_through_nibrs_age_when_the_folder_has_it():
    # In the current layout 103 is 00 (unknown); in the older, 103 is no code at all.
    assert age("", "103", {"103": "00"}) is None
    assert age("", "1", {"1": "NN"}) == "0"


# --- the current layout --------------------------------------------------------------------


@pytest.fixture(scope="module")
def current_kinds() -> dict[str, list[Record]]:
    return by_kind(list(NibrsCdeSource(CURRENT).records()))


def test_the_current_layout_is_told_from_its_offense_header():
    from ingest.adapters.nibrs_cde import _locate_tables, detect_layout

    assert detect_layout(_locate_tables(CURRENT)) is CURRENT_LAYOUT
    assert detect_layout(_locate_tables(DATA)) is OLDER_LAYOUT


def test_the_current_layout_gives_one_record_per_row_and_every_age(current_kinds):
    assert {kind: len(records) for kind, records in current_kinds.items()} == {
        "incidents": 10,
        "offenses": 11,
        "victim": 14,
        "offender": 7,
        "arrestee": 2,
    }
    ages = {
        (r.values["report_number"], r.values["person_seq"]): r.values["age"] for r in current_kinds["victim"]
    }
    assert ages == {
        ("9000001", "1"): "34",
        ("9000002", "1"): "0",  # NN
        ("9000002", "2"): "0",  # NB
        ("9000003", "1"): "0",  # BB
        ("9000004", "1"): None,  # 00 (age_id 103)
        ("9000004", "2"): None,  # NS
        ("9000005", "1"): "99",
        ("9000006", "1"): None,  # a business
        ("9000007", "1"): "25",
        ("9000007", "2"): "25",
        ("9000007", "3"): "40",
        ("9000008", "1"): "17",
        ("9000009", "1"): "52",
        ("9000010", "1"): None,  # society
    }
    offender_ages = sorted(r.values["age"] or "-" for r in current_kinds["offender"])
    assert offender_ages == ["-", "-", "-", "19", "22", "28", "45"]
    every = [r for records in current_kinds.values() for r in records]
    assert all(r.problem is None for r in every)
    unavailable = NibrsCdeSource(CURRENT).unavailable_columns
    assert [
        (r.table, problem.reason)
        for r in every
        for problem in validate_row(r.table, r.values)
        if problem.column not in unavailable
    ] == []


def test_the_current_layout_takes_offense_codes_from_the_offense_row(current_kinds):
    codes = {
        (r.values["report_number"], r.values["offense_seq"]): r.values["nibrs_code"]
        for r in current_kinds["offenses"]
    }
    assert codes[("9000005", "1")] == "11A" and codes[("9000005", "2")] == "13B"
    names = {r.values["nibrs_code"]: r.values["description"] for r in current_kinds["offenses"]}
    assert names["11A"] == "Rape" and names["23H"] == "All Other Larceny"
    incidents = current_kinds["incidents"]
    assert {r.values["division"] for r in incidents} == {"AZ0109900"}


def test_a_folder_in_neither_layout_is_rejected_naming_both(tmp_path: Path):
    import shutil

    folder = tmp_path / "extract"
    shutil.copytree(CURRENT, folder)
    offenses = folder / "NIBRS_OFFENSE.csv"
    offenses.write_text(offenses.read_text().replace("offense_code", "ucr_code", 1))
    with pytest.raises(FileRejected, match=r"OFFENSE_TYPE_ID.*OFFENSE_CODE"):
        next(NibrsCdeSource(folder).records())
