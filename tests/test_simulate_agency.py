"""The synthetic agency's exports: contract-valid, deterministic, calibrated, every kind planted.

The ground-truth eligibility rule is re-implemented here from the CSV files alone (not imported
from simulate.eligibility), so the calibration check cannot agree with itself by construction.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.contract import TABLES, check_header, validate_row
from simulate.agency import AgencySummary, generate_agency
from vnotify.config import AgencyConfig, load_config

SAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "config" / "sample-agency.yaml"
START = dt.date(2025, 3, 1)
MONTHS = 9
TARGET_PER_MONTH = 1346
# The sensitive codes the simulator plants; the rule below uses the warehouse's full list (the seed).
PLANTED_SENSITIVE = {"11A", "11B", "11C", "11D", "36A", "36B", "09A", "09B", "100", "64A", "64B", "13C"}
with (Path(__file__).resolve().parents[1] / "dbt" / "seeds" / "nibrs_offense_codes.csv").open(
    newline=""
) as _seed:
    SENSITIVE = {row["offense_code"] for row in csv.DictReader(_seed) if row["is_sensitive"] == "true"}
PERPETRATORS = {"offender", "suspect", "arrestee"}

Row = dict[str, str]


@dataclass(frozen=True)
class Export:
    summary: AgencySummary
    out_dir: Path
    tables: dict[str, list[Row]]
    headers: dict[str, list[str]]

    def latest_incidents(self) -> dict[str, Row]:
        latest: dict[str, Row] = {}
        for row in self.tables["incidents"]:
            known = latest.get(row["report_number"])
            if known is None or row["updated_at"] > known["updated_at"]:
                latest[row["report_number"]] = row
        return latest

    def by_report(self, table: str) -> dict[str, list[Row]]:
        grouped: dict[str, list[Row]] = defaultdict(list)
        for row in self.tables[table]:
            grouped[row["report_number"]].append(row)
        return grouped


def read_export(out_dir: Path, summary: AgencySummary) -> Export:
    tables, headers = {}, {}
    for name in TABLES:
        with (out_dir / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            tables[name] = list(reader)
            headers[name] = list(reader.fieldnames or [])
    return Export(summary, out_dir, tables, headers)


@pytest.fixture(scope="module")
def config() -> AgencyConfig:
    return load_config(SAMPLE_CONFIG)


@pytest.fixture(scope="module")
def export(config, tmp_path_factory) -> Export:
    """Scale 1 over nine months: the demo's volume, generated once for the module."""
    out_dir = tmp_path_factory.mktemp("agency")
    summary = generate_agency(config, months=MONTHS, scale=1.0, seed=2025, start=START, out_dir=out_dir)
    return read_export(out_dir, summary)


# --- independent re-implementation of the ground-truth rule --------------------------------


def phone_key(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit())
    return digits[1:] if len(digits) == 11 and digits[0] == "1" else digits


def valid_phone(value: str) -> bool:
    return re.fullmatch(r"[2-9]\d\d[2-9]\d{6}", phone_key(value)) is not None


def valid_email(value: str) -> bool:
    return re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value.strip()) is not None


def contacts(person: Row) -> set[str]:
    keys = set()
    if valid_phone(person["phone"]):
        keys.add(phone_key(person["phone"]))
    if valid_email(person["email"]):
        keys.add(person["email"].strip().lower())
    return keys


def age_at(person: Row, day: dt.date) -> int | None:
    if person["age"]:
        return int(person["age"])
    if person["birth_date"]:
        born = dt.date.fromisoformat(person["birth_date"])
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return None


def truthy(value: str) -> bool | None:
    folded = value.strip().lower()
    return True if folded in {"y", "true", "1"} else False if folded in {"n", "false", "0"} else None


def eligible_on_report(incident: Row, offenses: list[Row], persons: list[Row], config) -> int:
    rules = config.eligibility
    if {o["nibrs_code"] for o in offenses} & (SENSITIVE | set(rules.extra_excluded_offense_codes)):
        return 0
    if truthy(incident["domestic_violence"]):
        return 0
    day = dt.datetime.fromisoformat(incident["reported_at"]).date()
    offender_contacts = set().union(*(contacts(p) for p in persons if p["role"] in PERPETRATORS))
    count = 0
    for person in persons:
        if person["role"] != "victim" or person["victim_type"] != "individual":
            continue
        age = age_at(person, day)
        consent = truthy(person["contact_consent"])
        reachable = (valid_phone(person["phone"]) and person["phone_type"] != "landline") or valid_email(
            person["email"]
        )
        count += (
            (age >= rules.minimum_age if age is not None else rules.unknown_age == "notify")
            and not truthy(person["deceased"])
            and not (contacts(person) & offender_contacts)
            and reachable
            and (consent is True or (consent is None and rules.contact_given_to_officer_counts_as_consent))
        )
    return count


def month_index(moment: str) -> int:
    day = dt.datetime.fromisoformat(moment).date()
    return (day.year - START.year) * 12 + day.month - START.month


def eligible_per_month(export: Export, config) -> list[int]:
    per_month = [0] * MONTHS
    offenses, persons = export.by_report("offenses"), export.by_report("persons")
    for number, incident in export.latest_incidents().items():
        per_month[month_index(incident["reported_at"])] += eligible_on_report(
            incident, offenses[number], persons[number], config
        )
    return per_month


# --- the contract ----------------------------------------------------------------------------


def test_headers_are_the_contract_columns_in_order(export):
    for name, table in TABLES.items():
        assert export.headers[name] == list(table.column_names)
        assert check_header(name, export.headers[name]) == []
    assert set(export.summary.files) == {
        "incidents.csv",
        "offenses.csv",
        "persons.csv",
        "cad_calls.csv",
    }
    for name, rows in export.tables.items():
        assert export.summary.files[f"{name}.csv"] == len(rows) > 0


def test_only_contract_violation_is_the_planted_empty_officer_name(export):
    problems = Counter(
        (name, problem.column, problem.reason)
        for name, rows in export.tables.items()
        for row in rows
        for problem in validate_row(name, row)
    )
    missing = export.summary.defects["missing_officer_name"]
    assert missing > 0
    assert problems == {("incidents", "officer_name", "officer_name is required"): missing}


def test_files_are_utf8_with_unix_line_endings(export):
    for name in TABLES:
        data = (export.out_dir / f"{name}.csv").read_bytes()
        assert b"\r" not in data
        assert data.endswith(b"\n")
        data.decode("utf-8")
    persons = (export.out_dir / "persons.csv").read_text(encoding="utf-8")
    assert re.search(r"[áéíóúñÁÉÍÓÚÑ]", persons), "es_MX names carry accents"


def test_rows_reference_existing_reports_and_are_unique(export):
    numbers = {row["report_number"] for row in export.tables["incidents"]}
    assert all(row["report_number"] in numbers for row in export.tables["offenses"])
    assert all(row["report_number"] in numbers for row in export.tables["persons"])
    linked = [row["report_number"] for row in export.tables["cad_calls"] if row["report_number"]]
    assert set(linked) <= numbers
    offense_keys = [(r["report_number"], r["offense_seq"]) for r in export.tables["offenses"]]
    person_keys = [(r["report_number"], r["person_seq"]) for r in export.tables["persons"]]
    assert len(offense_keys) == len(set(offense_keys)), "re-exports never repeat offenses"
    assert len(person_keys) == len(set(person_keys)), "re-exports never repeat persons"
    call_numbers = [row["call_number"] for row in export.tables["cad_calls"]]
    assert len(call_numbers) == len(set(call_numbers))
    assert all(re.fullmatch(r"C\d{2}-\d{7}", number) for number in call_numbers)


def test_report_fields_are_plausible(export):
    periods_end = dt.datetime(2025, 12, 1)
    for row in export.tables["incidents"]:
        assert re.fullmatch(r"SV\d{2}-\d{6}", row["report_number"])
        assert row["agency_ori"] == "AZ0109900"
        reported_at = dt.datetime.fromisoformat(row["reported_at"])
        assert reported_at.tzinfo is None and dt.datetime(2025, 3, 1) <= reported_at < periods_end
        if row["occurred_at"]:
            assert dt.datetime.fromisoformat(row["occurred_at"]) <= reported_at
        assert dt.datetime.fromisoformat(row["updated_at"]) >= reported_at
    statuses = Counter(row["case_status"] for row in export.latest_incidents().values())
    assert statuses.most_common(1)[0][0] == "open"


def test_calls_come_shortly_before_their_reports(export):
    reports = export.latest_incidents()
    linked = [call for call in export.tables["cad_calls"] if call["report_number"]]
    assert len(linked) > 0.7 * len(reports), "most reports have a call"
    for call in linked:
        gap = dt.datetime.fromisoformat(reports[call["report_number"]]["reported_at"]) - (
            dt.datetime.fromisoformat(call["received_at"])
        )
        assert dt.timedelta(0) < gap <= dt.timedelta(hours=6)
        assert call["priority"] in {"1", "2", "3", "4"}


def test_every_call_names_a_victim_or_reporting_party(export):
    persons = export.by_report("persons")
    for call in export.tables["cad_calls"]:
        if call["report_number"]:
            names = {
                name
                for person in persons[call["report_number"]]
                if person["role"] in {"victim", "reporting_party"}
                for name in spellings(person)
            }
            assert call["caller_name"].casefold() in names


# --- determinism ---------------------------------------------------------------------------


def file_hashes(out_dir: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out_dir.glob("*.csv"))}


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(config, tmp_path):
    runs = {}
    for label, seed in (("a", 7), ("b", 7), ("c", 8)):
        out_dir = tmp_path / label
        summary = generate_agency(config, months=2, scale=0.05, seed=seed, start=START, out_dir=out_dir)
        runs[label] = (file_hashes(out_dir), summary)
    assert len(runs["a"][0]) == 4
    assert runs["a"] == runs["b"]
    assert all(runs["a"][0][name] != runs["c"][0][name] for name in runs["a"][0])


def test_progress_is_reported_month_by_month(config, tmp_path):
    calls = []
    generate_agency(
        config,
        months=3,
        scale=0.01,
        seed=1,
        start=START,
        out_dir=tmp_path,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_summary_is_json_serialisable(export):
    data = json.loads(json.dumps(export.summary.as_dict()))
    assert data["start"] == "2025-03-01"
    assert data["months"] == MONTHS and data["seed"] == 2025 and data["scale"] == 1.0
    assert len(data["eligible_victims_per_month"]) == MONTHS


# --- calibration ---------------------------------------------------------------------------


def test_eligible_victims_per_month_match_the_case_study(export, config):
    per_month = eligible_per_month(export, config)
    assert per_month == export.summary.eligible_victims_per_month
    assert sum(per_month) == export.summary.eligible_victims
    average = sum(per_month) / MONTHS
    assert abs(average - TARGET_PER_MONTH) <= 0.05 * TARGET_PER_MONTH
    assert all(abs(month - TARGET_PER_MONTH) <= 0.15 * TARGET_PER_MONTH for month in per_month)
    victims = sum(row["role"] == "victim" for row in export.tables["persons"])
    assert export.summary.victims == victims


def test_scale_multiplies_volume_linearly(export, config, tmp_path):
    summary = generate_agency(config, months=MONTHS, scale=0.1, seed=2025, start=START, out_dir=tmp_path)
    assert summary.reports == pytest.approx(0.1 * export.summary.reports, rel=0.02)
    assert summary.eligible_victims / MONTHS == pytest.approx(0.1 * TARGET_PER_MONTH, rel=0.1)


# --- planted people and defects ------------------------------------------------------------


def victims_of(export: Export) -> list[Row]:
    return [row for row in export.tables["persons"] if row["role"] == "victim"]


def test_victim_population_is_varied(export):
    reports = export.latest_incidents()
    victims = victims_of(export)
    individuals = [v for v in victims if v["victim_type"] == "individual"]
    day = {n: dt.datetime.fromisoformat(r["reported_at"]).date() for n, r in reports.items()}
    ages = [age_at(v, day[v["report_number"]]) for v in individuals]
    juveniles = [age for age in ages if age is not None and age < 18]
    assert len(juveniles) == export.summary.population["juvenile_victims"] > 0
    assert {v["victim_type"] for v in victims} >= {
        "individual",
        "business",
        "financial_institution",
        "government",
    }
    codes = export.by_report("offenses")
    shoplifting_businesses = [
        v
        for v in victims
        if v["victim_type"] == "business" and codes[v["report_number"]][0]["nibrs_code"] == "23C"
    ]
    assert shoplifting_businesses
    deceased = [v for v in victims if v["deceased"] == "Y"]
    assert len(deceased) == export.summary.population["deceased_victims"] > 0
    homicide_reports = {n for n, offenses in codes.items() if offenses[0]["nibrs_code"] in {"09A", "09B"}}
    assert homicide_reports and {v["report_number"] for v in deceased} >= homicide_reports
    spanish = sum(v["language"] == "es" for v in individuals) / len(individuals)
    assert 0.20 <= spanish <= 0.25
    per_report = Counter(v["report_number"] for v in victims)
    assert max(per_report.values()) >= 3
    assert sum(count > 1 for count in per_report.values()) == export.summary.population["multi_victim_report"]


def test_offense_mix_is_realistic_and_includes_sensitive_offenses(export):
    offenses = export.tables["offenses"]
    primary = Counter(row["nibrs_code"] for row in offenses if row["offense_seq"] == "1")
    total = sum(primary.values())
    larceny = sum(count for code, count in primary.items() if code.startswith("23"))
    assert 0.25 <= larceny / total <= 0.45
    for code in (
        "23C",
        "23D",
        "23F",
        "23H",
        "220",
        "26A",
        "26F",
        "13A",
        "13B",
        "290",
        "240",
        "120",
    ):
        assert primary[code] > 0, code
    present = {row["nibrs_code"] for row in offenses}
    assert present >= PLANTED_SENSITIVE
    sensitive_share = sum(primary[code] for code in PLANTED_SENSITIVE) / total
    assert 0.02 <= sensitive_share <= 0.08
    per_report = Counter(row["report_number"] for row in offenses)
    assert 0.05 <= sum(n > 1 for n in per_report.values()) / len(per_report) <= 0.25
    assert max(per_report.values()) == 3


def test_domestic_violence_flags(export):
    reports = export.latest_incidents()
    flagged = [n for n, row in reports.items() if row["domestic_violence"] == "Y"]
    assert len(flagged) == export.summary.defects["dv_flagged_report"] > 0
    primary = {
        row["report_number"]: row["nibrs_code"]
        for row in export.tables["offenses"]
        if row["offense_seq"] == "1"
    }
    assaults = [n for n in reports if primary[n] in {"13A", "13B"}]
    dv_share = sum(reports[n]["domestic_violence"] == "Y" for n in assaults) / len(assaults)
    assert 0.08 <= dv_share <= 0.12


def test_re_exports_come_later_with_a_newer_update(export):
    first_seen: dict[str, Row] = {}
    re_exports = 0
    for row in export.tables["incidents"]:
        original = first_seen.setdefault(row["report_number"], row)
        if original is row:
            continue
        re_exports += 1
        assert row["updated_at"] > original["updated_at"]
        assert row["case_status"] != original["case_status"] or (
            not original["officer_name"] and row["officer_name"]
        )
        supplemented = {"updated_at", "case_status", "officer_name", "assigned_detective"}
        assert {k: v for k, v in row.items() if k not in supplemented} == {
            k: v for k, v in original.items() if k not in supplemented
        }
    assert re_exports == export.summary.defects["re_export"] > 0
    filled = [r for r in export.latest_incidents().values() if r["officer_name"]]
    assert len(filled) > len(export.latest_incidents()) - export.summary.defects["missing_officer_name"]


def test_shared_victim_offender_phone_is_written_differently(export):
    shared = 0
    for persons in export.by_report("persons").values():
        offender_phones = {
            phone_key(p["phone"]): p["phone"]
            for p in persons
            if p["role"] in PERPETRATORS and valid_phone(p["phone"])
        }
        for victim in persons:
            if victim["role"] == "victim" and valid_phone(victim["phone"]):
                other = offender_phones.get(phone_key(victim["phone"]))
                if other is not None:
                    shared += 1
                    assert other != victim["phone"], "naive string matching would catch it"
    assert shared == export.summary.defects["shared_victim_offender_phone"] > 0


def test_phones_come_in_many_formats_with_invalid_ones_planted(export):
    phones = [row["phone"] for row in export.tables["persons"] if row["phone"]]
    patterns = {
        "parenthesised": r"\(\d{3}\) \d{3}-\d{4}",
        "dotted": r"\d{3}\.\d{3}\.\d{4}",
        "international": r"\+1 \d{3} \d{3} \d{4}",
        "bare digits": r"\d{10}",
        "dashed": r"\d{3}-\d{3}-\d{4}",
    }
    for name, pattern in patterns.items():
        assert any(re.fullmatch(pattern, phone) for phone in phones), name
    valid_area_codes = {phone_key(p)[:3] for p in phones if valid_phone(p)}
    assert {"520", "602", "480"} <= valid_area_codes
    invalid = [p for p in phones if not valid_phone(p)]
    assert len(invalid) == export.summary.defects["invalid_phone"] > 0
    assert "000-000-0000" in invalid
    assert any(re.search(r"[A-Za-z]", p) for p in invalid)
    assert any(not re.search(r"[A-Za-z]", p) and 0 < len(phone_key(p)) < 10 for p in invalid)
    types = Counter(row["phone_type"] for row in victims_of(export) if row["phone"])
    assert {"mobile", "landline", "unknown", ""} <= set(types)


def test_landline_only_victims_are_counted(export):
    landline_only = [
        v
        for v in victims_of(export)
        if v["victim_type"] == "individual"
        and v["phone_type"] == "landline"
        and valid_phone(v["phone"])
        and not valid_email(v["email"])
    ]
    assert len(landline_only) == export.summary.defects["landline_only_victim"] > 0


def test_malformed_emails_are_planted(export):
    emails = [row["email"] for row in export.tables["persons"] if row["email"]]
    malformed = [e for e in emails if not valid_email(e)]
    assert len(malformed) == export.summary.defects["malformed_email"] > 0
    assert any(e.endswith("@") for e in malformed)
    assert any("@" not in e for e in malformed)
    assert any(re.fullmatch(r"[^@.]+@[^@.]+", e) for e in malformed)
    assert all(
        e.lower().rsplit("@", 1)[-1].endswith(("example.com", "example.net", "example.org"))
        for e in emails
        if valid_email(e)
    )


def test_consent_fields(export):
    victims = [v for v in victims_of(export) if v["victim_type"] == "individual"]
    consents = Counter(v["contact_consent"] for v in victims)
    assert {"Y", "N", ""} <= set(consents)
    for victim in victims:
        has_details = bool(victim["consent_source"] and victim["consent_at"])
        assert has_details == (victim["contact_consent"] == "Y")
    assert any(v["offense_seqs"] == "" for v in victims) and any(v["offense_seqs"] for v in victims)


def spellings(person: Row) -> set[str]:
    first, last = person["first_name"], person["last_name"]
    return (
        {f"{first} {last}".strip().casefold(), f"{last}, {first}".casefold(), last.casefold()}
        if first
        else {last.casefold()}
    )


def test_victims_without_phone_who_called_cad(export):
    persons = export.by_report("persons")
    found = 0
    for call in export.tables["cad_calls"]:
        if not call["report_number"] or not call["caller_phone"]:
            continue
        for victim in persons[call["report_number"]]:
            if (
                victim["role"] == "victim"
                and not victim["phone"]
                and call["caller_name"].casefold() in spellings(victim)
            ):
                found += 1
                assert valid_phone(call["caller_phone"])
    assert found == export.summary.defects["victim_phone_only_in_cad"] > 0
    assert export.summary.eligible_victims_via_cad > 0


def test_calls_without_reports_exist(export):
    unlinked = [call for call in export.tables["cad_calls"] if not call["report_number"]]
    assert len(unlinked) == export.summary.population["cad_call_without_report"] > 0


def test_every_division_appears_by_code_or_alias(export, config):
    written = [row["division"] for row in export.tables["incidents"]]
    resolved = [config.division_code(value) for value in written]
    assert None not in resolved
    assert set(resolved) == {division.code for division in config.divisions}
    assert set(written) - set(resolved), "aliases are used as well as codes"
    cad_divisions = {row["division"] for row in export.tables["cad_calls"] if row["division"]}
    assert all(config.division_code(value) for value in cad_divisions)
