"""The export contract's checks (ingest/contract.py): headers, cell shapes, reasons without PII."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.contract import (
    TABLES,
    RowProblem,
    check_header,
    parse_bool,
    parse_datetime,
    validate_row,
)

GOOD_INCIDENT = {
    "report_number": "SV25-000123",
    "agency_ori": "AZ0109900",
    "reported_at": "2025-03-04T14:22:00",
    "occurred_at": "2025-03-04T13:05:00",
    "division": "WEST",
    "beat": "103",
    "officer_id": "4821",
    "officer_name": "Dana Ruiz",
    "case_status": "open",
    "domestic_violence": "",
    "updated_at": "2025-03-05T09:00:00",
}
GOOD_VICTIM = {
    "report_number": "SV25-000123",
    "person_seq": "1",
    "role": "victim",
    "victim_type": "individual",
    "first_name": "María",
    "last_name": "López",
    "birth_date": "1990-02-28",
    "phone": "(520) 555-0147",
    "language": "es",
    "contact_consent": "Y",
    "consent_source": "officer_verbal",
    "consent_at": "2025-03-04T14:30:00",
    "offense_seqs": "1 2",
}


def columns_with_problems(table: str, row: dict[str, str]) -> list[str]:
    return [problem.column for problem in validate_row(table, row)]


def test_well_formed_rows_have_no_problems():
    assert validate_row("incidents", GOOD_INCIDENT) == []
    assert validate_row("persons.csv", GOOD_VICTIM) == []
    offense = {"report_number": "SV25-000123", "offense_seq": "1", "nibrs_code": "23H"}
    assert validate_row("offenses", offense) == []
    call = {"call_number": "C25-0012345", "received_at": "2025-03-04T13:10:42"}
    assert validate_row("cad_calls", call) == []


def test_header_reports_missing_required_columns_in_contract_order():
    assert check_header("incidents", TABLES["incidents"].column_names) == []
    assert check_header("incidents", ["division", "report_number", "extra_column"]) == [
        "reported_at",
        "officer_name",
        "updated_at",
    ]
    # A UTF-8 BOM glued to the first name and stray spaces do not hide a column.
    assert check_header("offenses.csv", ["\ufeffreport_number", " offense_seq ", "nibrs_code"]) == []


def test_unknown_table_is_refused():
    with pytest.raises(ValueError, match="unknown contract table"):
        check_header("victims", ["report_number"])


@pytest.mark.parametrize("column", ["report_number", "reported_at", "division", "officer_name", "updated_at"])
@pytest.mark.parametrize("empty", ["", "   ", None])
def test_required_incident_columns_must_be_filled(column, empty):
    row = {**GOOD_INCIDENT, column: empty}
    assert validate_row("incidents", row) == [RowProblem(column, f"{column} is required")]


def test_absent_column_counts_as_empty():
    row = {key: value for key, value in GOOD_INCIDENT.items() if key != "updated_at"}
    assert columns_with_problems("incidents", row) == ["updated_at"]


@pytest.mark.parametrize(
    "value",
    [
        "2025-03-04T14:22:00",
        "2025-03-04T14:22",
        "2025-03-04 14:22:00",
        "2025-03-04T14:22:00-07:00",
        "2025-03-04T21:22:00Z",
        "2025-03-04T14:22:00.250",
    ],
)
def test_iso_date_times_with_or_without_offset_are_accepted(value):
    assert validate_row("incidents", {**GOOD_INCIDENT, "reported_at": value}) == []


@pytest.mark.parametrize(
    "value",
    [
        "2025-13-04T14:22:00",
        "2025-02-30T10:00:00",
        "03/04/2025 14:22",
        "2025-03-04",
        "yesterday",
        "1741126920",
    ],
)
def test_bad_date_times_are_reported(value):
    problems = validate_row("incidents", {**GOOD_INCIDENT, "reported_at": value})
    assert problems == [RowProblem("reported_at", "reported_at is not an ISO 8601 date-time")]


@pytest.mark.parametrize("value", ["1990-02-30", "02/28/1990", "1990-02-28T00:00:00", "90-02-28"])
def test_bad_birth_dates_are_reported(value):
    assert columns_with_problems("persons", {**GOOD_VICTIM, "birth_date": value}) == ["birth_date"]


@pytest.mark.parametrize("value", ["Y", "n", "TRUE", "false", "1", "0", " y "])
def test_contract_booleans_in_any_case(value):
    assert validate_row("incidents", {**GOOD_INCIDENT, "domestic_violence": value}) == []


@pytest.mark.parametrize("value", ["yes", "X", "2", "t", "Y/N"])
def test_bad_booleans_are_reported(value):
    problems = validate_row("persons", {**GOOD_VICTIM, "contact_consent": value})
    assert problems == [
        RowProblem("contact_consent", "contact_consent is not a boolean (Y/N, true/false, 1/0)")
    ]


def test_parse_bool_and_parse_datetime():
    assert [parse_bool(v) for v in ("Y", "false", " 1 ", "")] == [True, False, True, None]
    with pytest.raises(ValueError):
        parse_bool("maybe")
    assert parse_datetime("2025-03-04T14:22:00").hour == 14
    assert parse_datetime("2025-03-04T14:22:00-07:00").utcoffset() is not None
    with pytest.raises(ValueError):
        parse_datetime("2025-03-04")


def test_victim_needs_a_victim_type_but_others_do_not():
    victim = {**GOOD_VICTIM, "victim_type": ""}
    assert validate_row("persons", victim) == [
        RowProblem("victim_type", "victim_type is required when role is victim")
    ]
    witness = {**GOOD_VICTIM, "role": "witness", "victim_type": ""}
    assert validate_row("persons", witness) == []
    assert columns_with_problems("persons", {**victim, "role": " Victim "}) == ["victim_type"]


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("persons", "role", "bystander"),
        ("persons", "victim_type", "person"),
        ("persons", "phone_type", "cell"),
        ("incidents", "case_status", "pending"),
    ],
)
def test_values_outside_the_allowed_lists_are_reported(table, column, value):
    row = {**(GOOD_VICTIM if table == "persons" else GOOD_INCIDENT), column: value}
    problems = validate_row(table, row)
    assert [p.column for p in problems] == [column]
    assert "is not one of:" in problems[0].reason


def test_allowed_values_ignore_case():
    assert validate_row("persons", {**GOOD_VICTIM, "role": "VICTIM", "phone_type": "Mobile"}) == []


@pytest.mark.parametrize("code", ["23H", "13A", "220", "26A", "290", "09A", "64B", "23h"])
def test_nibrs_codes_of_the_right_shape_pass(code):
    row = {"report_number": "SV25-1", "offense_seq": "1", "nibrs_code": code}
    assert validate_row("offenses", row) == []


@pytest.mark.parametrize("code", ["2H", "230A", "ABC", "A23", "23-H"])
def test_malformed_nibrs_codes_are_reported(code):
    row = {"report_number": "SV25-1", "offense_seq": "1", "nibrs_code": code}
    assert columns_with_problems("offenses", row) == ["nibrs_code"]


@pytest.mark.parametrize("seq", ["0", "-1", "1.0", "one", "+2"])
def test_sequence_numbers_must_be_positive_whole_numbers(seq):
    row = {"report_number": "SV25-1", "offense_seq": seq, "nibrs_code": "23H"}
    assert columns_with_problems("offenses", row) == ["offense_seq"]


@pytest.mark.parametrize(("value", "ok"), [("1", True), ("1 2 3", True), ("1,2", False), ("1 x", False)])
def test_offense_seqs_are_space_separated_numbers(value, ok):
    problems = columns_with_problems("persons", {**GOOD_VICTIM, "offense_seqs": value})
    assert problems == ([] if ok else ["offense_seqs"])


@pytest.mark.parametrize(("value", "ok"), [("0", True), ("42", True), ("42.5", False), ("adult", False)])
def test_age_is_whole_years(value, ok):
    problems = columns_with_problems("persons", {**GOOD_VICTIM, "birth_date": "", "age": value})
    assert problems == ([] if ok else ["age"])


PII_LIKE = [
    "María López",
    "(520) 555-0147",
    "jane.doe@example.com",
    "1990-02-31",
    "SV25-000123-SUPP",
    "4821 N Oracle Rd",
]


@pytest.mark.parametrize("value", PII_LIKE)
def test_reasons_never_contain_the_cell_value(value):
    for table in TABLES.values():
        for column in table.column_names:
            base = GOOD_VICTIM if table.name == "persons" else {}
            for problem in validate_row(table.name, {**base, column: value}):
                assert value not in problem.reason
                assert value.lower() not in problem.reason.lower()


@given(st.sampled_from(list(TABLES)), st.data())
def test_reasons_never_echo_arbitrary_values(table, data):
    column = data.draw(st.sampled_from(TABLES[table].column_names))
    # The marker can never occur in a reason, so any echo of the value would show.
    value = "PII§" + data.draw(st.text(max_size=30))
    for problem in validate_row(table, {column: value}):
        assert "PII§" not in problem.reason
