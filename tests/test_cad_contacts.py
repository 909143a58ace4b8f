"""Contact from dispatch: a victim with no usable RMS phone who phoned the call in is reached on
the caller's phone from CAD, through the same safety gate; real Postgres, real dbt."""

from __future__ import annotations

import pytest
from issue9_support import (
    build,
    call,
    config_with,
    incident,
    load,
    offense,
    opt_out,
    own_database,
    person,
    query,
    report_numbers,
    victim_key,
    write_export,
)

pytestmark = pytest.mark.db

CONFIG = config_with(cad_caller_phone=True, caller_phone_counts_as_consent=True)
(CALLER, SHARED, REFUSED, LANDLINE, OPTED, STRANGER, WITH_OWN) = report_numbers(CONFIG, "CAD", "A", 7)


@pytest.fixture(scope="module")
def warehouse(server_admin_url, migrated_template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cad")
    numbers = (CALLER, SHARED, REFUSED, LANDLINE, OPTED, STRANGER, WITH_OWN)
    write_export(
        folder,
        incidents=[incident(n) for n in numbers],
        offenses=[offense(n) for n in numbers],
        persons=[
            # No phone, no e-mail, consent unknown: only CAD can reach her.
            person(CALLER, 1, "Ana María", "Núñez", contact_consent=""),
            person(SHARED, 1, "Ben", "Ortiz"),
            person(SHARED, 2, "Rob", "Stone", role="suspect", victim_type="", phone="(520) 700-1002"),
            person(REFUSED, 1, "Cal", "Diaz", contact_consent="N", email=""),
            person(LANDLINE, 1, "Dee", "Park", phone="520-700-1004", phone_type="landline"),
            person(OPTED, 1, "Eve", "Moss"),
            person(STRANGER, 1, "Fay", "Lum"),
            person(WITH_OWN, 1, "Gil", "Roy", phone="520.700.1008", phone_type="mobile"),
        ],
        cad_calls=[
            call("C-1", CALLER, "NUNEZ, ANA MARIA", "520-700-1001"),
            call("C-2", SHARED, "ortiz, ben", "520 700 1002"),
            call("C-3", REFUSED, "Cal Diaz", "520-700-1003"),
            call("C-4", LANDLINE, "PARK, DEE", "520-700-1005"),
            call("C-5", OPTED, "Eve Moss", "520-700-1006"),
            call("C-6", STRANGER, "Someone Else", "520-700-1007"),
            call("C-7", WITH_OWN, "ROY, GIL", "520-700-1009"),
            # Calls that produced no report: staged, never messaged (the same name as a victim).
            call("C-8", "", "NUNEZ, ANA MARIA", "520-700-1010"),
            call("C-9", "", "Dee Park", "520-700-1011", disposition="GONE ON ARRIVAL"),
        ],
    )
    with own_database(server_admin_url, migrated_template) as url:
        load(url, folder, CONFIG)
        opt_out(url, "sms", "+15207001006")
        build(url, CONFIG)
        yield url


def _decision(url: str, number: str) -> dict:
    (row,) = query(
        url,
        "SELECT * FROM marts.fct_eligibility_decisions WHERE victim_key = %s",
        victim_key(number, 1),
    )
    return row


def _due(url: str) -> dict[str, dict]:
    return {r["report_number"]: r for r in query(url, "SELECT * FROM restricted.notifications_due")}


def test_a_victim_who_called_it_in_gets_the_cad_phone(warehouse):
    decision = _decision(warehouse, CALLER)
    assert decision["is_eligible"] and decision["reasons"] == []
    assert (decision["phone_source"], decision["contact_source"], decision["notice_kind"]) == (
        "cad",
        "cad",
        "initial",
    )
    assert decision["can_sms"] and not decision["can_email"]
    due = _due(warehouse)[CALLER]
    assert due["phone_e164"] == "+15207001001" and due["channels"] == ["sms"] and due["kind"] == "initial"


def test_a_landline_in_the_rms_gives_way_to_the_callers_mobile(warehouse):
    decision = _decision(warehouse, LANDLINE)
    assert decision["phone_source"] == "cad" and decision["is_eligible"]
    assert _due(warehouse)[LANDLINE]["phone_e164"] == "+15207001005"


def test_a_usable_rms_phone_is_kept(warehouse):
    decision = _decision(warehouse, WITH_OWN)
    assert decision["phone_source"] == "rms" and decision["contact_source"] == "rms"
    assert _due(warehouse)[WITH_OWN]["phone_e164"] == "+15207001008"


def test_a_cad_phone_that_is_the_suspects_is_blocked(warehouse):
    decision = _decision(warehouse, SHARED)
    assert decision["phone_source"] == "cad"
    assert "contact_shared_with_offender" in decision["reasons"] and not decision["is_eligible"]
    assert SHARED not in _due(warehouse)


def test_refused_consent_never_gets_a_cad_phone(warehouse):
    decision = _decision(warehouse, REFUSED)
    assert decision["phone_source"] is None and not decision["can_sms"]
    assert {"no_consent_basis", "no_valid_channel"} <= set(decision["reasons"])
    assert REFUSED not in _due(warehouse)


def test_an_opted_out_cad_phone_is_not_texted(warehouse):
    decision = _decision(warehouse, OPTED)
    assert decision["phone_source"] == "cad" and decision["reasons"] == ["opted_out"]
    assert OPTED not in _due(warehouse)


def test_a_caller_who_is_someone_else_gives_no_phone(warehouse):
    decision = _decision(warehouse, STRANGER)
    assert decision["phone_source"] is None and decision["reasons"] == ["no_valid_channel"]


def test_calls_without_a_report_are_staged_and_never_messaged(warehouse):
    staged = query(
        warehouse,
        "SELECT call_number, report_number, caller_phone_e164 FROM staging.stg_rms__cad_calls"
        " WHERE call_number IN ('C-8', 'C-9') ORDER BY 1",
    )
    assert [(r["call_number"], r["report_number"]) for r in staged] == [("C-8", None), ("C-9", None)]
    assert staged[0]["caller_phone_e164"] == "+15207001010"
    matched = query(warehouse, "SELECT call_number FROM intermediate.int_persons__cad_caller_matched")
    assert {r["call_number"] for r in matched} == {"C-1", "C-2", "C-3", "C-4", "C-5", "C-7"}
    addresses = {r["phone_e164"] for r in _due(warehouse).values()}
    assert not addresses & {"+15207001010", "+15207001011"}


def test_marts_carry_no_cad_phone(warehouse):
    columns = query(
        warehouse,
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts'"
        " AND table_name = 'fct_eligibility_decisions'",
    )
    assert not {c["column_name"] for c in columns} & {"phone_e164", "cad_phone_e164", "email"}


def test_with_the_setting_off_the_caller_has_no_channel(server_admin_url, migrated_template, tmp_path):
    config = config_with(cad_caller_phone=False)
    (number,) = report_numbers(config, "CADOFF", "A")
    folder = write_export(
        tmp_path / "export",
        incidents=[incident(number)],
        offenses=[offense(number)],
        persons=[person(number, 1, "Ana", "Reyes")],
        cad_calls=[call("C-1", number, "REYES, ANA", "520-700-1001")],
    )
    with own_database(server_admin_url, migrated_template) as url:
        load(url, folder, config)
        build(url, config)
        decision = _decision(url, number)
        assert decision["phone_source"] is None and decision["reasons"] == ["no_valid_channel"]
        assert not query(url, "SELECT 1 FROM restricted.notifications_due")


def test_unknown_consent_uses_the_cad_phone_only_when_configured(
    server_admin_url, migrated_template, tmp_path
):
    config = config_with(cad_caller_phone=True, caller_phone_counts_as_consent=False)
    unknown, agreed = report_numbers(config, "CADCONS", "A", 2)
    folder = write_export(
        tmp_path / "export",
        incidents=[incident(unknown), incident(agreed)],
        offenses=[offense(unknown), offense(agreed)],
        persons=[
            person(unknown, 1, "Ana", "Reyes", contact_consent=""),
            person(agreed, 1, "Ben", "Ortiz", contact_consent="Y"),
        ],
        cad_calls=[
            call("C-1", unknown, "REYES, ANA", "520-700-1001"),
            call("C-2", agreed, "Ben Ortiz", "520-700-1002"),
        ],
    )
    with own_database(server_admin_url, migrated_template) as url:
        load(url, folder, config)
        build(url, config)
        assert _decision(url, unknown)["phone_source"] is None
        assert _decision(url, agreed)["phone_source"] == "cad"
        assert set(_due(url)) == {agreed}
