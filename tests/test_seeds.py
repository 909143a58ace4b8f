"""The dbt seeds that decide which offenses are messaged and what the message says (no database).

dbt/seeds/nibrs_offense_codes.csv must cover the FBI's offense table exactly and keep every
sensitive offense away from notification; dbt/seeds/offense_explanations.csv must give each
notifiable offense one English and one Spanish text that fits the message template.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from simulate.offense_mix import SENSITIVE_OFFENSE_CODES
from vnotify.paths import REPO_ROOT

SEEDS = REPO_ROOT / "dbt" / "seeds"
CODES_CSV = SEEDS / "nibrs_offense_codes.csv"
EXPLANATIONS_CSV = SEEDS / "offense_explanations.csv"
SEEDS_YML = SEEDS / "_seeds.yml"
GENERIC_TEST = REPO_ROOT / "dbt" / "tests" / "generic" / "unique_combination.sql"
FBI_TABLE = REPO_ROOT / "ingest" / "reference" / "nibrs_offense_type.csv"

CODE_COLUMNS = [
    "offense_code",
    "offense_name",
    "offense_category",
    "offense_group",
    "crime_against",
    "is_notifiable",
    "is_sensitive",
    "sensitive_reason",
]
EXPLANATION_COLUMNS = ["offense_code", "language", "offense_label", "explanation", "next_steps"]

CRIME_AGAINST = {"person", "property", "society", "not_a_crime"}
SENSITIVE_REASONS = {
    "sexual_offense",
    "homicide",
    "kidnapping",
    "human_trafficking",
    "stalking_intimidation",
    "other_sensitive",
}
LANGUAGES = {"en", "es"}
MAX_TEXT = 300

# Never messaged, whatever else the report carries.
EXPECTED_SENSITIVE = {
    **dict.fromkeys(["11A", "11B", "11C", "11D", "36A", "36B", "90H"], "sexual_offense"),
    **dict.fromkeys(["40A", "40B", "40C", "370", "210"], "other_sensitive"),
    **dict.fromkeys(["09A", "09B", "09C"], "homicide"),
    "100": "kidnapping",
    **dict.fromkeys(["64A", "64B"], "human_trafficking"),
    "13C": "stalking_intimidation",
}
# Judgement call beyond the brief (dbt/seeds/README.md): family offenses sit with the sensitive ones.
EXTRA_SENSITIVE = {"90F": "other_sensitive"}

EXPECTED_NOTIFIABLE = {
    *(f"23{letter}" for letter in "ABCDEFGH"),
    "220",
    "240",
    "120",
    "13B",
    "13A",
    "290",
    "200",
    *(f"26{letter}" for letter in "ABCDEFG"),
    "250",
    "280",
    "270",
    "90A",
}

PHONE_LIKE = re.compile(r"\d(?:[\s().+-]*\d){6,}")  # seven or more digits, however punctuated
URL_LIKE = re.compile(r"https?:|www\.|\b[\w-]+\.(?:com|org|gov|net|us|info)\b", re.IGNORECASE)
SPANISH_MARKS = set("áéíóúüñÁÉÍÓÚÜÑ¿¡")


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, strict=True))


def read_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return next(csv.reader(f, strict=True))


@pytest.fixture(scope="module")
def fbi() -> dict[str, dict[str, str]]:
    return {r["OFFENSE_CODE"]: r for r in read_rows(FBI_TABLE)}


@pytest.fixture(scope="module")
def codes() -> list[dict[str, str]]:
    return read_rows(CODES_CSV)


@pytest.fixture(scope="module")
def by_code(codes: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {r["offense_code"]: r for r in codes}


@pytest.fixture(scope="module")
def explanations() -> list[dict[str, str]]:
    return read_rows(EXPLANATIONS_CSV)


def flag(row: dict[str, str], column: str) -> bool:
    return {"true": True, "false": False}[row[column]]


def notifiable(by_code: dict[str, dict[str, str]]) -> set[str]:
    return {code for code, row in by_code.items() if flag(row, "is_notifiable")}


# --- file format --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [CODES_CSV, EXPLANATIONS_CSV], ids=lambda p: p.name)
def test_csv_is_utf8_with_unix_line_endings(path: Path) -> None:
    raw = path.read_bytes()
    raw.decode("utf-8")  # raises on anything that is not UTF-8
    assert not raw.startswith(b"\xef\xbb\xbf"), "no byte-order mark"
    assert b"\r" not in raw, "\\n line endings only"
    assert raw.endswith(b"\n")


@pytest.mark.parametrize(
    ("path", "columns"),
    [(CODES_CSV, CODE_COLUMNS), (EXPLANATIONS_CSV, EXPLANATION_COLUMNS)],
    ids=["codes", "explanations"],
)
def test_csv_header_and_every_row_has_all_fields(path: Path, columns: list[str]) -> None:
    assert read_header(path) == columns
    with path.open(encoding="utf-8", newline="") as f:
        widths = {len(row) for row in csv.reader(f, strict=True)}
    assert widths == {len(columns)}


# --- nibrs_offense_codes ------------------------------------------------------------------------


def test_every_fbi_code_but_23_star_appears_exactly_once(
    codes: list[dict[str, str]], fbi: dict[str, dict[str, str]]
) -> None:
    counts = Counter(r["offense_code"] for r in codes)
    assert "23*" not in counts
    assert set(counts) == set(fbi) - {"23*"}
    assert [code for code, n in counts.items() if n != 1] == []


def test_names_categories_and_groups_follow_the_fbi_table(
    by_code: dict[str, dict[str, str]], fbi: dict[str, dict[str, str]]
) -> None:
    for code, row in by_code.items():
        source = fbi[code]
        assert row["offense_name"] == source["OFFENSE_NAME"], code
        assert row["offense_category"] == source["OFFENSE_CATEGORY_NAME"], code
        assert row["crime_against"] == source["CRIME_AGAINST"].strip().lower().replace(" ", "_"), code
        # 90I Runaway has no group in the FBI table; it was Group B while it was an offense.
        assert row["offense_group"] == (source["OFFENSE_GROUP"] or "B"), code


def test_crime_against_and_group_values_are_allowed(codes: list[dict[str, str]]) -> None:
    assert {r["crime_against"] for r in codes} <= CRIME_AGAINST
    assert {r["offense_group"] for r in codes} <= {"A", "B"}


def test_flags_are_boolean_literals(codes: list[dict[str, str]]) -> None:
    values = {r[column] for r in codes for column in ("is_notifiable", "is_sensitive")}
    assert values <= {"true", "false"}


@pytest.mark.parametrize(("code", "reason"), sorted({**EXPECTED_SENSITIVE, **EXTRA_SENSITIVE}.items()))
def test_sensitive_code_is_never_notifiable(
    by_code: dict[str, dict[str, str]], code: str, reason: str
) -> None:
    row = by_code[code]
    assert flag(row, "is_sensitive")
    assert not flag(row, "is_notifiable")
    assert row["sensitive_reason"] == reason


def test_sensitive_codes_are_exactly_the_agreed_list(by_code: dict[str, dict[str, str]]) -> None:
    sensitive = {code for code, row in by_code.items() if flag(row, "is_sensitive")}
    assert sensitive == set(EXPECTED_SENSITIVE) | set(EXTRA_SENSITIVE)


def test_simulator_sensitive_codes_are_sensitive_in_the_seed(by_code: dict[str, dict[str, str]]) -> None:
    # The simulator's ground truth must never call eligible a victim the warehouse excludes silently.
    assert {c for c in SENSITIVE_OFFENSE_CODES if not flag(by_code[c], "is_sensitive")} == set()


def test_sensitive_reason_is_set_exactly_when_sensitive(codes: list[dict[str, str]]) -> None:
    for row in codes:
        if flag(row, "is_sensitive"):
            assert row["sensitive_reason"] in SENSITIVE_REASONS, row["offense_code"]
        else:
            assert row["sensitive_reason"] == "", row["offense_code"]


def test_no_code_is_both_notifiable_and_sensitive(codes: list[dict[str, str]]) -> None:
    both = [r["offense_code"] for r in codes if flag(r, "is_notifiable") and flag(r, "is_sensitive")]
    assert both == []


def test_notifiable_codes_are_exactly_the_agreed_list(by_code: dict[str, dict[str, str]]) -> None:
    assert notifiable(by_code) == EXPECTED_NOTIFIABLE


def test_society_group_b_and_federal_offenses_are_not_notifiable(by_code: dict[str, dict[str, str]]) -> None:
    for code, row in by_code.items():
        society = row["crime_against"] in {"society", "not_a_crime"}
        group_b = row["offense_group"] == "B" and code != "90A"  # bad checks have a personal victim
        federal_or_other = row["offense_category"] == "Other Offenses"
        if society or group_b or federal_or_other:
            assert not flag(row, "is_notifiable"), code
            if code not in EXPECTED_SENSITIVE and code not in EXTRA_SENSITIVE:
                assert not flag(row, "is_sensitive"), code


# --- offense_explanations -----------------------------------------------------------------------


def test_every_notifiable_code_has_one_english_and_one_spanish_row(
    by_code: dict[str, dict[str, str]], explanations: list[dict[str, str]]
) -> None:
    pairs = Counter((r["offense_code"], r["language"]) for r in explanations)
    expected = {(code, language) for code in notifiable(by_code) for language in LANGUAGES}
    assert set(pairs) == expected
    assert [pair for pair, n in pairs.items() if n != 1] == []


def test_no_explanation_for_a_code_that_is_not_notifiable(
    by_code: dict[str, dict[str, str]], explanations: list[dict[str, str]]
) -> None:
    stray = {r["offense_code"] for r in explanations} - notifiable(by_code)
    assert stray == set()


def test_languages_are_allowed(explanations: list[dict[str, str]]) -> None:
    assert {r["language"] for r in explanations} <= LANGUAGES


@pytest.mark.parametrize("column", ["offense_label", "explanation", "next_steps"])
def test_text_is_non_empty_trimmed_and_within_limit(explanations: list[dict[str, str]], column: str) -> None:
    for row in explanations:
        text = row[column]
        where = f"{row['offense_code']}/{row['language']}/{column}"
        assert text.strip(), where
        assert text == text.strip(), where
        assert "\n" not in text, where
        assert len(text) <= MAX_TEXT, f"{where}: {len(text)} characters"


def test_spanish_uses_spanish_spelling_somewhere(explanations: list[dict[str, str]]) -> None:
    spanish = "".join(
        r["offense_label"] + r["explanation"] + r["next_steps"] for r in explanations if r["language"] == "es"
    )
    assert SPANISH_MARKS & set(spanish)


@pytest.mark.parametrize("column", ["offense_label", "explanation", "next_steps"])
def test_spanish_is_not_a_copy_of_the_english(explanations: list[dict[str, str]], column: str) -> None:
    text = {(r["offense_code"], r["language"]): r[column] for r in explanations}
    same = [
        code for (code, language), value in text.items() if language == "es" and value == text[(code, "en")]
    ]
    assert same == []


def test_no_phone_numbers_or_urls_in_any_text(
    codes: list[dict[str, str]], explanations: list[dict[str, str]]
) -> None:
    for row in [*codes, *explanations]:
        for column, value in row.items():
            where = f"{row['offense_code']}/{row.get('language', '-')}/{column}"
            assert not PHONE_LIKE.search(value), where
            assert not URL_LIKE.search(value), where
            assert "http" not in value.lower(), where


# --- dbt properties -----------------------------------------------------------------------------


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for value in node.values() for k in _keys(value)}
    if isinstance(node, list):
        return {k for value in node for k in _keys(value)}
    return set()


def _accepted_values(column: dict[str, Any]) -> set[str]:
    for test in column.get("data_tests", []):
        if isinstance(test, dict) and "accepted_values" in test:
            return set(test["accepted_values"]["arguments"]["values"])
    raise AssertionError(f"no accepted_values test on {column['name']}")


def test_seed_properties_match_the_csvs() -> None:
    properties = yaml.safe_load(SEEDS_YML.read_text(encoding="utf-8"))
    assert "tests" not in _keys(properties), "use data_tests:, not the deprecated tests:"
    seeds = {seed["name"]: seed for seed in properties["seeds"]}
    assert set(seeds) == {"nibrs_offense_codes", "offense_explanations"}
    for name, header in (
        ("nibrs_offense_codes", CODE_COLUMNS),
        ("offense_explanations", EXPLANATION_COLUMNS),
    ):
        seed = seeds[name]
        assert seed["description"].strip()
        assert [c["name"] for c in seed["columns"]] == header
        assert list(seed["config"]["column_types"]) == header
    types = seeds["nibrs_offense_codes"]["config"]["column_types"]
    assert {c for c, t in types.items() if t == "boolean"} == {"is_notifiable", "is_sensitive"}
    assert types["offense_code"] == "text"
    assert seeds["offense_explanations"]["config"]["column_types"]["offense_code"] == "text"


def test_seed_properties_test_the_agreed_values() -> None:
    properties = yaml.safe_load(SEEDS_YML.read_text(encoding="utf-8"))
    seeds = {seed["name"]: seed for seed in properties["seeds"]}
    codes = {c["name"]: c for c in seeds["nibrs_offense_codes"]["columns"]}
    assert {"unique", "not_null"} <= set(codes["offense_code"]["data_tests"])
    assert _accepted_values(codes["crime_against"]) == CRIME_AGAINST
    assert _accepted_values(codes["sensitive_reason"]) == SENSITIVE_REASONS
    explanations = seeds["offense_explanations"]
    columns = {c["name"]: c for c in explanations["columns"]}
    assert _accepted_values(columns["language"]) == LANGUAGES
    compound = [t["unique_combination"] for t in explanations["data_tests"] if "unique_combination" in t]
    assert compound == [{"arguments": {"columns": ["offense_code", "language"]}}]


def test_unique_combination_generic_test_is_defined() -> None:
    sql = GENERIC_TEST.read_text(encoding="utf-8")
    assert re.search(r"{%-?\s*test\s+unique_combination\(\s*model\s*,\s*columns\s*\)\s*-?%}", sql)
    assert re.search(r"{%-?\s*endtest\s*-?%}", sql)
    assert re.search(r"having\s+count\(\*\)\s*>\s*1", sql, re.IGNORECASE)
