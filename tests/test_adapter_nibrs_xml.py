"""The NIBRS XML adapter (ingest/adapters/nibrs_xml.py) on the FBI IEPD 2019.1 samples.

Pure: no database. The samples are the repo copies in tests/data/nibrs-iepd-2019-xml/
(byte-identical to the FBI/SEARCH files); variants are made from them in tmp_path.
"""

from __future__ import annotations

import tracemalloc
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ingest.adapters.nibrs_xml import (
    NibrsXmlSource,
    assign_person_seqs,
    case_status,
    incident_times,
    person_age,
    victim_type,
)
from ingest.contract import validate_row
from ingest.records import FileRejected, Record

DATA = Path(__file__).parent / "data" / "nibrs-iepd-2019-xml"
INCIDENT = DATA / "nibrs_GroupAIncident_Sample.xml"
REPLACE = DATA / "nibrs_GroupAReplace_Sample.xml"
ALL_FIELDS = DATA / "nibrs_AllFields_Sample.xml"
INCIDENT_DELETE = DATA / "nibrs_IncidentDelete_Sample.xml"
GROUP_B = DATA / "nibrs_GroupBArrest_Sample.xml"
GROUP_B_DELETE = DATA / "nibrs_GroupBArrestDelete_Sample.xml"
ZERO = DATA / "nibrs_ZeroReport_Sample.xml"
SAMPLES = (INCIDENT, REPLACE, ALL_FIELDS, INCIDENT_DELETE, GROUP_B, GROUP_B_DELETE, ZERO)

MESSAGE_TIME = "2017-03-23T03:00:00"  # cjis:MessageDateTime, the same in every sample
ORI = "WVNDX0100"
NAMESPACES = (
    'xmlns:nibrs="http://fbi.gov/cjis/nibrs/2019" xmlns:cjis="http://fbi.gov/cjis/2.0" '
    'xmlns:j="http://release.niem.gov/niem/domains/jxdm/5.2/" '
    'xmlns:nc="http://release.niem.gov/niem/niem-core/3.0/" '
    'xmlns:s="http://release.niem.gov/niem/structures/3.0/"'
)


def records_of(path: Path) -> list[Record]:
    return list(NibrsXmlSource(path).records())


def write(tmp_path: Path, content: bytes, name: str = "submission.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def report_block(path: Path) -> bytes:
    """The one `<nibrs:Report>…</nibrs:Report>` of a sample, as bytes."""
    content = path.read_bytes()
    start = content.index(b"<nibrs:Report>")
    end = content.index(b"</nibrs:Report>") + len(b"</nibrs:Report>")
    return content[start:end]


def incident_sample_records(report_number: str, action: str) -> list[Record]:
    """What the Group A incident sample (and its replace twin) must yield."""
    return [
        Record(
            "incidents",
            1,
            {
                "report_number": report_number,
                "agency_ori": ORI,
                "reported_at": "2016-02-19T10:00:00",
                "occurred_at": "2016-02-19T10:00:00",
                "division": ORI,
                "case_status": "cleared_exceptional",
                "updated_at": MESSAGE_TIME,
            },
            extra={
                "nibrs_action": action,
                "exceptional_clearance_code": "A",
                "exceptional_clearance_date": "2016-02-25",
            },
        ),
        Record(
            "offenses",
            1,
            {"report_number": report_number, "offense_seq": "1", "nibrs_code": "13A", "attempted": "N"},
        ),
        Record(
            "persons",
            1,
            {
                "report_number": report_number,
                "person_seq": "1",
                "role": "victim",
                "age": "32",
                "victim_type": "individual",
                "offense_seqs": "1",
            },
            extra={"relationship_to_offender_3": "Acquaintance"},
        ),
        Record(
            "persons",
            1,
            {
                "report_number": report_number,
                "person_seq": "2",
                "role": "victim",
                "age": "0",
                "victim_type": "individual",
                "offense_seqs": "1",
            },
            extra={"age_text": "BABY", "relationship_to_offender_3": "Stranger"},
        ),
        Record(
            "persons",
            1,
            {"report_number": report_number, "person_seq": "3", "role": "offender", "age": "25"},
            extra={"age_range_min": "25", "age_range_max": "30", "nibrs_offender_seq": "1"},
        ),
    ]


# --- the samples, record by record ------------------------------------------------------------


def test_group_a_incident_sample_yields_the_incident_offense_victims_and_offender():
    assert records_of(INCIDENT) == incident_sample_records("000054236732", action="I")


def test_all_fields_sample_yields_the_attempted_offense_officer_victim_and_arrestee():
    number = "54236732"  # the same incident as the other samples, without the leading zeros
    records = records_of(ALL_FIELDS)

    incident, offense, *persons = records
    assert incident.table == "incidents"
    assert incident.values["report_number"] == number
    # Clearance code A wins over the arrestee segment (the sample has both).
    assert incident.values["case_status"] == "cleared_exceptional"
    assert offense == Record(
        "offenses", 1, {"report_number": number, "offense_seq": "1", "nibrs_code": "240", "attempted": "Y"}
    )
    assert [(p.values["person_seq"], p.values["role"], p.values.get("victim_type")) for p in persons] == [
        ("1", "victim", "law_enforcement"),
        ("2", "victim", "individual"),
        ("3", "offender", None),
        ("4", "arrestee", None),
    ]
    assert persons[0].values["age"] == "32"
    assert persons[0].extra == {"relationship_to_offender_3": "Acquaintance"}
    assert persons[1].extra == {"age_text": "BABY", "relationship_to_offender_3": "Stranger"}
    assert persons[3] == Record(
        "persons",
        1,
        {"report_number": number, "person_seq": "4", "role": "arrestee", "age": "25"},
        extra={
            "nibrs_arrestee_seq": "1",
            "arrest_transaction_number": "12345",
            "arrest_date": "2016-02-28",
            "arrest_charge_codes": "64A",
            "arrest_category": "O",
        },
    )


def test_replace_sample_reads_despite_its_declaration_after_the_licence_comment():
    # The FBI sample puts `<?xml …?>` on line 18, after the licence comment, which XML forbids;
    # the reader blanks a declaration that only comments precede.
    assert records_of(REPLACE) == incident_sample_records("000054236732", action="R")


def test_a_declaration_after_an_element_is_still_not_well_formed(tmp_path):
    content = INCIDENT.read_bytes().replace(
        b"<cjis:MessageMetadata>", b'<cjis:MessageMetadata><?xml version="1.0"?>', 1
    )
    with pytest.raises(FileRejected, match=r"not well-formed XML at line \d+"):
        records_of(write(tmp_path, content))


def test_replace_sample_with_its_declaration_moved_up_is_the_same_report_at_the_same_time(tmp_path):
    declaration = b'<?xml version="1.0" encoding="UTF-8"?> \r\n'
    content = REPLACE.read_bytes()
    assert content.count(declaration) == 1
    repaired = write(tmp_path, declaration + content.replace(declaration, b""))

    replaced = records_of(repaired)

    # Same report number and content; only the action differs. The files carry the same
    # MessageDateTime, so the replace is not newer and the loader's supersede keeps the first.
    assert replaced == incident_sample_records("000054236732", action="R")
    assert replaced[0].values["updated_at"] == records_of(INCIDENT)[0].values["updated_at"]


def test_incident_delete_sample_is_one_delete_with_only_the_number_and_time():
    assert records_of(INCIDENT_DELETE) == [
        Record("incidents", 1, {"report_number": "020160005029", "updated_at": MESSAGE_TIME}, action="delete")
    ]


def test_group_b_arrest_sample_is_one_arrestee_under_the_arrest_transaction_number():
    assert records_of(GROUP_B) == [
        Record(
            "persons",
            1,
            {"report_number": "12345", "person_seq": "1", "role": "arrestee", "age": "30"},
            extra={
                "nibrs_report_category": "GROUP B ARREST REPORT",
                "nibrs_action": "A",
                "agency_ori": ORI,
                "nibrs_message_datetime": MESSAGE_TIME,
                "nibrs_arrestee_seq": "1",
                "arrest_transaction_number": "12345",
                "arrest_date": "2016-02-28",
                "arrest_charge_codes": "90Z",
                "arrest_category": "O",
            },
        )
    ]


def test_group_b_arrest_delete_sample_is_quarantined_never_a_report_delete():
    (record,) = records_of(GROUP_B_DELETE)
    assert record.table == "persons"
    assert record.action is None  # never deletes an incident that shares the number
    assert record.values == {"report_number": "12345", "person_seq": "1", "role": "arrestee", "age": None}
    assert record.extra is not None and record.extra["nibrs_action"] == "D"
    assert record.problem is not None and "Group B arrest deletion" in record.problem


def test_zero_report_sample_yields_nothing():
    assert records_of(ZERO) == []


@pytest.mark.parametrize("path", [INCIDENT, ALL_FIELDS, GROUP_B], ids=lambda path: path.name)
def test_sample_records_meet_the_contract_except_for_what_nibrs_cannot_carry(path):
    unavailable = NibrsXmlSource(path).unavailable_columns
    for record in records_of(path):
        problems = [p for p in validate_row(record.table, record.values) if p.column not in unavailable]
        assert problems == [], (record.table, problems)


def test_source_describes_itself():
    source = NibrsXmlSource(INCIDENT)
    assert source.format == "nibrs-xml"
    assert source.name == str(INCIDENT)
    assert source.content_files() == [INCIDENT]
    assert source.unavailable_columns == frozenset({"officer_name"})


# --- several reports in one submission ----------------------------------------------------------


def test_row_number_is_the_position_of_the_report_in_the_document(tmp_path):
    content = INCIDENT_DELETE.read_bytes()
    delete = report_block(INCIDENT_DELETE)
    combined = content.replace(delete, report_block(ZERO) + report_block(INCIDENT) + delete)

    records = records_of(write(tmp_path, combined))

    assert {r.row_number for r in records if r.action is None} == {2}  # the zero report is row 1
    assert [r.row_number for r in records if r.action == "delete"] == [3]
    assert len(records) == 6


def test_reports_before_a_defect_stream_out_before_the_rejection(tmp_path):
    content = INCIDENT_DELETE.read_bytes()
    end = content.index(b"</nibrs:Report>") + len(b"</nibrs:Report>")
    truncated = content[:end] + b"\n<nibrs:Report><nibrs:ReportHeader>"

    iterator = NibrsXmlSource(write(tmp_path, truncated)).records()

    assert next(iterator).action == "delete"
    with pytest.raises(FileRejected, match="not well-formed XML"):
        next(iterator)


def test_memory_stays_flat_however_many_reports_the_file_holds(tmp_path):
    content = INCIDENT_DELETE.read_bytes()
    delete = report_block(INCIDENT_DELETE)
    big = write(tmp_path, content.replace(delete, delete * 2000))  # about 2.7 MB
    tracemalloc.start()
    try:
        count = sum(1 for _ in NibrsXmlSource(big).records())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 2000
    assert peak < 2_000_000  # keeping every parsed report would take about 11 MB


# --- variants of the samples --------------------------------------------------------------------


def test_incident_without_an_hour_gets_midnight_and_says_so(tmp_path):
    content = INCIDENT.read_bytes()
    date_time = b"<nc:DateTime>2016-02-19T10:00:00</nc:DateTime>"
    assert content.count(date_time) == 1
    incident = records_of(write(tmp_path, content.replace(date_time, b"")))[0]

    assert incident.values["reported_at"] == "2016-02-19T00:00:00"
    assert incident.values["occurred_at"] == "2016-02-19T00:00:00"
    assert incident.extra is not None and incident.extra["incident_hour_unknown"] == "Y"


def test_unknown_action_keeps_every_record_with_a_problem(tmp_path):
    content = INCIDENT.read_bytes().replace(
        b"<nibrs:ReportActionCategoryCode>I<", b"<nibrs:ReportActionCategoryCode>W<"
    )
    records = records_of(write(tmp_path, content))

    assert len(records) == 5
    assert all(record.problem and "ReportActionCategoryCode" in record.problem for record in records)


def test_unknown_report_category_is_kept_with_a_problem(tmp_path):
    content = INCIDENT_DELETE.read_bytes().replace(b"GROUP A INCIDENT REPORT", b"GROUP C REPORT")
    (record,) = records_of(write(tmp_path, content))

    assert record.values["report_number"] == "020160005029"
    assert record.problem is not None and "NIBRSReportCategoryCode" in record.problem


def test_victim_linked_to_a_missing_offense_is_kept_with_a_problem(tmp_path):
    content = INCIDENT.read_bytes()
    link = b'<j:Offense s:ref="Offense1"/>\r\n\t\t\t<j:Victim s:ref="Victim2"/>'
    assert content.count(link) == 1
    records = records_of(write(tmp_path, content.replace(link, link.replace(b"Offense1", b"Offense9"))))

    victims = [r for r in records if r.table == "persons" and r.values["role"] == "victim"]
    assert [v.problem is not None for v in victims] == [False, True]


# --- whole-file rejections ----------------------------------------------------------------------


def test_truncated_file_is_rejected_with_the_line_number(tmp_path):
    content = INCIDENT.read_bytes()
    truncated = content[: len(content) // 2]
    last_line = truncated.count(b"\n") + 1

    with pytest.raises(FileRejected) as rejected:
        records_of(write(tmp_path, truncated, "truncated.xml"))

    message = str(rejected.value)
    assert "truncated.xml" in message
    assert f"line {last_line}," in message


def test_garbled_file_is_rejected_at_the_broken_line_without_quoting_it(tmp_path):
    content = INCIDENT.read_bytes()
    good = b"</nibrs:VictimToSubjectRelationshipCode>"
    broken_at = content.index(good)
    garbled = content[:broken_at] + b"</nc:PersonFullName>" + content[broken_at + len(good) :]
    line = garbled[:broken_at].count(b"\n") + 1

    with pytest.raises(FileRejected, match=rf"line {line}, column \d+ \(mismatched tag\)") as rejected:
        records_of(write(tmp_path, garbled))
    assert "Acquaintance" not in str(rejected.value)
    assert "PersonFullName" not in str(rejected.value)


def test_empty_file_is_rejected(tmp_path):
    with pytest.raises(FileRejected, match="not well-formed XML at line 1"):
        records_of(write(tmp_path, b""))


@pytest.mark.parametrize(
    "content",
    [
        b'<?xml version="1.0" encoding="UTF-8"?>\n<html><body/></html>',
        # The right local name in the NIBRS 4.x (pre-2019) namespace is a different format.
        INCIDENT_DELETE.read_bytes().replace(
            b"http://fbi.gov/cjis/nibrs/2019", b"http://fbi.gov/cjis/nibrs/4.0"
        ),
    ],
    ids=["html", "older-nibrs-namespace"],
)
def test_a_root_other_than_nibrs_submission_is_rejected(tmp_path, content):
    with pytest.raises(FileRejected, match=r"root element is not nibrs:Submission"):
        records_of(write(tmp_path, content))


def test_latin1_bytes_are_rejected_as_not_utf8_without_quoting_them(tmp_path):
    content = INCIDENT.read_bytes().replace(b"Acquaintance", "Acquaintánce".encode("latin-1"))

    with pytest.raises(FileRejected, match="not UTF-8") as rejected:
        records_of(write(tmp_path, content, "latin1.xml"))
    assert "latin1.xml" in str(rejected.value)
    assert "Acquaint" not in str(rejected.value)


def test_a_multibyte_character_cut_off_at_the_end_is_rejected_as_not_utf8(tmp_path):
    content = INCIDENT_DELETE.read_bytes() + "<!-- café -->".encode()[:-5]  # ends inside the é
    with pytest.raises(FileRejected, match="not UTF-8"):
        records_of(write(tmp_path, content))


def test_utf16_file_is_rejected_as_not_utf8(tmp_path):
    content = INCIDENT_DELETE.read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    with pytest.raises(FileRejected, match="not UTF-8"):
        records_of(write(tmp_path, content.encode("utf-16")))


def test_a_declared_encoding_other_than_utf8_is_rejected(tmp_path):
    content = INCIDENT_DELETE.read_bytes().replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"', 1)
    with pytest.raises(FileRejected, match="encoding other than UTF-8"):
        records_of(write(tmp_path, content))


def test_missing_file_is_rejected(tmp_path):
    with pytest.raises(FileRejected, match="cannot be read"):
        records_of(tmp_path / "absent.xml")


# --- the small mappings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claimed", "expected"),
    [
        (["1", "2", None, None], [1, 2, 3, 4]),  # victims keep theirs, offenders follow
        (["3", "1", None], [3, 1, 4]),  # after the highest, not after the count
        (["2", "2", None], [2, 3, 4]),  # a duplicate victim number is renumbered
        (["0", "x", None], [1, 2, 3]),  # so are numbers that are not positive integers
        ([], []),
    ],
)
def test_assign_person_seqs(claimed, expected):
    assert assign_person_seqs(claimed) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("I", "individual"),
        ("b", "business"),  # codes are matched without regard to case
        ("F", "financial_institution"),
        ("G", "government"),
        ("R", "religious_organization"),
        ("S", "society"),
        ("L", "law_enforcement"),
        ("O", "other"),
        ("U", "unknown"),
        ("Z", "Z"),  # unknown codes pass through; the contract check quarantines them
        (None, None),
    ],
)
def test_victim_type(code, expected):
    assert victim_type(code) == expected


@pytest.mark.parametrize(
    ("code", "has_arrestee", "expected"),
    [
        ("A", False, "cleared_exceptional"),
        ("e", True, "cleared_exceptional"),
        ("N", False, "open"),
        ("N", True, "cleared_arrest"),
        (None, False, "open"),
    ],
)
def test_case_status(code, has_arrestee, expected):
    assert case_status(code, has_arrestee=has_arrestee) == expected


def person(age_measure: str) -> ET.Element:
    return ET.fromstring(
        f"<nc:Person {NAMESPACES}><nc:PersonAgeMeasure>{age_measure}</nc:PersonAgeMeasure></nc:Person>"
    )


@pytest.mark.parametrize(
    ("measure", "age", "notes"),
    [
        ("<nc:MeasureIntegerValue> 41 </nc:MeasureIntegerValue>", "41", {}),
        ("<nc:MeasureValueText>NEONATAL</nc:MeasureValueText>", "0", {"age_text": "NEONATAL"}),
        ("<nc:MeasureValueText>NEWBORN</nc:MeasureValueText>", "0", {"age_text": "NEWBORN"}),
        ("<nc:MeasureValueText>UNKNOWN</nc:MeasureValueText>", None, {"age_text": "UNKNOWN"}),
        (
            "<nc:MeasureIntegerRange><nc:RangeMaximumIntegerValue>17</nc:RangeMaximumIntegerValue>"
            "<nc:RangeMinimumIntegerValue>15</nc:RangeMinimumIntegerValue></nc:MeasureIntegerRange>",
            "15",
            {"age_range_min": "15", "age_range_max": "17"},
        ),
    ],
)
def test_person_age(measure, age, notes):
    assert person_age(person(measure)) == (age, notes)


def test_person_age_without_a_person_is_unknown():
    assert person_age(None) == (None, {})


def incident(activity_date: str, report_date_indicator: str = "false") -> ET.Element:
    return ET.fromstring(
        f"<nc:Incident {NAMESPACES}><nc:ActivityDate>{activity_date}</nc:ActivityDate>"
        f"<cjis:IncidentAugmentation><cjis:IncidentReportDateIndicator>{report_date_indicator}"
        "</cjis:IncidentReportDateIndicator></cjis:IncidentAugmentation></nc:Incident>"
    )


def test_incident_times_prefer_the_date_time_and_normalise_it():
    when = incident("<nc:DateTime>2016-02-19T10:00</nc:DateTime><nc:Date>2016-02-18</nc:Date>")
    assert incident_times(when) == ("2016-02-19T10:00:00", "2016-02-19T10:00:00", {})


def test_incident_times_with_a_report_date_leave_the_occurrence_unknown():
    when = incident("<nc:DateTime>2016-02-19T10:00:00</nc:DateTime>", report_date_indicator="true")
    assert incident_times(when) == ("2016-02-19T10:00:00", None, {"incident_date_is_report_date": "Y"})


def test_incident_times_pass_an_unreadable_date_through_for_the_contract_to_quarantine():
    assert incident_times(incident("<nc:DateTime>19/02/2016 10h</nc:DateTime>")) == (
        "19/02/2016 10h",
        "19/02/2016 10h",
        {},
    )
