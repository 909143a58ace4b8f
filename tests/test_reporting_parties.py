"""Reporting parties who are not victims: decided with every victim rule, messaged only on
reports whose arm is A (or outside the experiment), never randomized; real Postgres, real dbt."""

from __future__ import annotations

import datetime as dt

import pytest
from issue9_support import (
    build,
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

from warehouse import keys

pytestmark = pytest.mark.db

# The experiment starts on the 15th here, so a report of the 12th is outside it (Westside is live).
BASE = config_with(reporting_parties=True)
CONFIG = BASE.model_copy(
    update={"experiment": BASE.experiment.model_copy(update={"start_date": dt.date(2025, 3, 15)})}
)
(OK, SAME_NAME, SAME_PHONE, SENSITIVE, DV, JUVENILE, SHARED, OPTED, REFUSED) = report_numbers(
    CONFIG, "RP", "A", 9
)
(HOLDOUT, BEFORE) = report_numbers(CONFIG, "RPB", "B", 2)
RP_EMAIL = {OK: f"rp-{OK.lower()}@example.org"}


def _reporting_party(number: str, **fields: str):
    fields = {"email": f"rp-{number.lower()}@example.org", **fields}
    return person(number, 2, "Rita", "Pérez", role="reporting_party", **fields)


@pytest.fixture(scope="module")
def warehouse(server_admin_url, migrated_template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rp")
    numbers = (OK, SAME_NAME, SAME_PHONE, SENSITIVE, DV, JUVENILE, SHARED, OPTED, REFUSED, HOLDOUT, BEFORE)
    persons = [person(n, 1, "Vic", f"Tim{i}", email=f"victim{i}@example.org") for i, n in enumerate(numbers)]
    persons += [
        _reporting_party(OK, contact_consent=""),
        person(SAME_NAME, 2, "VIC", "TIM1", role="reporting_party", email="other@example.org"),
        person(SAME_PHONE, 4, "Val", "Lee", phone="520-700-2001", phone_type="mobile"),
        person(SAME_PHONE, 3, "Neighbor", "Nia", role="reporting_party", phone="(520) 700-2001"),
        _reporting_party(SENSITIVE),
        _reporting_party(DV),
        _reporting_party(JUVENILE, age="16"),
        _reporting_party(SHARED, email="shared@example.org"),
        person(SHARED, 3, "Sid", "Sly", role="offender", victim_type="", email="Shared@Example.org"),
        _reporting_party(OPTED),
        _reporting_party(REFUSED, contact_consent="N"),
        _reporting_party(HOLDOUT),
        _reporting_party(BEFORE),
    ]
    write_export(
        folder,
        incidents=[
            incident(n, domestic_violence="Y" if n == DV else "", reported_at=REPORTED[n]) for n in numbers
        ],
        offenses=[offense(n) for n in numbers] + [offense(SENSITIVE, "11A", seq=2)],
        persons=persons,
    )
    with own_database(server_admin_url, migrated_template) as url:
        load(url, folder, CONFIG)
        opt_out(url, "email", f"rp-{OPTED.lower()}@example.org")
        build(url, CONFIG)
        yield url


REPORTED = {
    n: ("2025-03-12T10:00:00" if n == BEFORE else "2025-03-18T10:00:00")
    for n in (OK, SAME_NAME, SAME_PHONE, SENSITIVE, DV, JUVENILE, SHARED, OPTED, REFUSED, HOLDOUT, BEFORE)
}


def _decisions(url: str) -> dict[str, dict]:
    """The marts' decisions (keyed: no report numbers), by report number."""
    numbers = {r["report_number"] for r in query(url, "SELECT report_number FROM staging.stg_rms__incidents")}
    by_key = {keys.report_key(number): number for number in numbers}
    rows = query(url, "SELECT * FROM marts.fct_eligibility_decisions WHERE notice_kind = 'reporting_party'")
    return {by_key[r["report_key"]]: r for r in rows}


def _due(url: str) -> list[dict]:
    return query(url, "SELECT * FROM restricted.notifications_due ORDER BY report_number, kind")


def test_an_eligible_reporting_party_is_due_once_with_its_kind(warehouse):
    decision = _decisions(warehouse)[OK]
    assert decision["victim_key"] == victim_key(OK, 2)
    assert (decision["person_role"], decision["is_eligible"], decision["reasons"]) == (
        "reporting_party",
        True,
        [],
    )
    due = [r for r in _due(warehouse) if r["report_number"] == OK]
    assert [(r["kind"], r["person_seq"]) for r in due] == [("initial", 1), ("reporting_party", 2)]
    party = due[1]
    assert party["email"] == RP_EMAIL[OK] and party["channels"] == ["email"] and party["arm"] is None
    assert party["first_name"] == "Rita"


def test_a_reporting_party_who_is_also_a_victim_gets_no_row(warehouse):
    decisions = _decisions(warehouse)
    assert SAME_NAME not in decisions and SAME_PHONE not in decisions
    kinds = {
        (r["report_number"], r["notice_kind"])
        for r in query(
            warehouse,
            "SELECT report_number, notice_kind FROM intermediate.int_victims__eligibility_evaluated",
        )
    }
    assert (SAME_NAME, "initial") in kinds and (SAME_PHONE, "initial") in kinds


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("SENSITIVE", "sensitive_offense"),
        ("DV", "domestic_violence"),
        ("JUVENILE", "juvenile"),
        ("SHARED", "contact_shared_with_offender"),
        ("OPTED", "opted_out"),
        ("REFUSED", "no_consent_basis"),
    ],
)
def test_every_victim_guard_blocks_a_reporting_party(warehouse, number, reason):
    report_number = globals()[number]
    decision = _decisions(warehouse)[report_number]
    assert decision["reasons"] == [reason]
    assert not decision["is_eligible"]
    assert not [r for r in _due(warehouse) if r["report_number"] == report_number and r["kind"] != "initial"]


def test_a_holdout_report_messages_nobody_but_outside_the_experiment_everyone(warehouse):
    decisions = _decisions(warehouse)
    assert decisions[HOLDOUT]["is_eligible"] and decisions[BEFORE]["is_eligible"]
    due = {(r["report_number"], r["kind"]) for r in _due(warehouse)}
    assert not {key for key in due if key[0] == HOLDOUT}
    assert {(BEFORE, "initial"), (BEFORE, "reporting_party")} <= due


def test_reporting_parties_are_never_randomized_or_surveyed(warehouse):
    parties = {r["victim_key"] for r in _decisions(warehouse).values()}
    assigned = {
        r["victim_key"] for r in query(warehouse, "SELECT victim_key FROM marts.fct_experiment_assignments")
    }
    surveyed = {
        r["victim_key"] for r in query(warehouse, "SELECT victim_key FROM restricted.survey_recipients")
    }
    assert parties and assigned and not parties & assigned and not parties & surveyed
    assert victim_key(HOLDOUT, 1) in assigned


def test_with_the_setting_off_no_reporting_party_is_due(server_admin_url, migrated_template, tmp_path):
    config = config_with(reporting_parties=False)
    (number,) = report_numbers(config, "RPOFF", "A")
    folder = write_export(
        tmp_path / "export",
        incidents=[incident(number)],
        offenses=[offense(number)],
        persons=[person(number, 1, "Vic", "Tim", email="v@example.org"), _reporting_party(number)],
    )
    with own_database(server_admin_url, migrated_template) as url:
        load(url, folder, config)
        build(url, config)
        decision = _decisions(url)[number]
        assert decision["reasons"] == ["reporting_party_notices_off"]
        assert [r["kind"] for r in _due(url)] == ["initial"]
