"""The agency configuration: the sample is valid; every mistake names its field and line."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from vnotify.config import AgencyConfig, ConfigError, load_config, parse_config
from vnotify.paths import SAMPLE_CONFIG

SAMPLE_TEXT = SAMPLE_CONFIG.read_text()
SAMPLE = yaml.safe_load(SAMPLE_TEXT)


def _leaf_paths(node: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in _leaf_paths(value, (*path, key))]
    if isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        return [p for i, value in enumerate(node) for p in _leaf_paths(value, (*path, i))]
    return [path]


def _set(data: Any, path: tuple, value: Any) -> Any:
    data = yaml.safe_load(yaml.safe_dump(data))
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


def _dotted(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _errors(text: str) -> list[tuple[int, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="agency.yaml")
    found = []
    for line in str(caught.value).splitlines():
        match = re.match(r"agency\.yaml:(\d+): (.*)", line)
        assert match, f"error line without file and line number: {line!r}"
        found.append((int(match.group(1)), match.group(2)))
    return found


def test_sample_is_valid_and_shaped_like_the_case_study():
    config = load_config(SAMPLE_CONFIG)
    assert isinstance(config, AgencyConfig)
    assert len(config.divisions) == 4
    go_lives = sorted(d.go_live for d in config.divisions)
    early, rest = go_lives[0], go_lives[1:]
    assert len(set(rest)) == 1 and rest[0] > early
    months_apart = (rest[0].year - early.year) * 12 + rest[0].month - early.month
    assert months_apart == 7
    assert config.send_window.start.hour == 8 and config.send_window.end.hour == 20
    assert config.eligibility.minimum_age == 18
    assert config.agency.default_language == "en" and "es" in config.agency.languages


@pytest.mark.parametrize("path", _leaf_paths(SAMPLE), ids=_dotted)
def test_any_field_of_the_wrong_type_is_named_with_its_line(path):
    text = yaml.safe_dump(_set(SAMPLE, path, {"not": "valid here"}), sort_keys=False)
    errors = _errors(text)
    named = [(line, message) for line, message in errors if message.startswith(_dotted(path))]
    assert named, f"no error names {_dotted(path)}: {errors}"
    line, _ = named[0]
    assert f"{path[-1]}:" in text.splitlines()[line - 1]


@pytest.mark.parametrize(
    ("mutate", "field", "written_on"),
    [
        (
            lambda t: t.replace("holdout_share: 0.5", "holdout_share: 1.5"),
            "experiment.holdout_share",
            "holdout_share:",
        ),
        (
            lambda t: t.replace('substation_phone: "+15205550102"', 'substation_phone: "520-555-0102"'),
            "divisions[1].substation_phone",
            "520-555-0102",
        ),
        (
            lambda t: t.replace("time_zone: America/Phoenix", "time_zone: Mars/Olympus"),
            "agency.time_zone",
            "Mars/Olympus",
        ),
        (lambda t: t.replace("  salt: svpd-2025-03\n", ""), "experiment.salt", "experiment:"),
        (lambda t: t.replace("minimum_age: 18", "minimum_ag: 18"), "eligibility.minimum_ag", "minimum_ag"),
        (
            lambda t: t.replace("minimum_age: 18", "minimum_age: 16"),
            "eligibility.minimum_age",
            "minimum_age: 16",
        ),
        (lambda t: t.replace('start: "08:00"', 'start: "21:00"'), "send_window", "send_window:"),
        (
            lambda t: t.replace("extra_excluded_offense_codes: []", "extra_excluded_offense_codes: [ZZZZ]"),
            "eligibility.extra_excluded_offense_codes",
            "ZZZZ",
        ),
        (lambda t: t.replace('aliases: ["4", "E",', 'aliases: ["1", "E",'), "divisions", "divisions:"),
        (lambda t: t.replace("enabled: true", "enabled: false"), "channels", "channels:"),
    ],
)
def test_common_mistakes_name_the_field(mutate, field, written_on):
    text = mutate(SAMPLE_TEXT)
    assert text != SAMPLE_TEXT
    errors = _errors(text)
    matching = [(line, msg) for line, msg in errors if msg.startswith(field)]
    assert matching, errors
    line, _ = matching[0]
    assert written_on in text.splitlines()[line - 1]


def test_sms_needs_exactly_one_sender():
    both = _set(SAMPLE, ("channels", "sms", "from_number"), "+15205550199")
    errors = _errors(yaml.safe_dump(both, sort_keys=False))
    assert any("channels.sms" in message and "only one" in message for _, message in errors)


def test_invalid_yaml_points_at_the_line():
    errors = _errors(SAMPLE_TEXT + "\nbroken: [unclosed\n")
    assert errors[0][1].startswith("not valid YAML")


def test_missing_file_says_how_to_point_at_one(tmp_path):
    with pytest.raises(ConfigError, match="VNOTIFY_CONFIG"):
        load_config(tmp_path / "nope.yaml")


def test_division_lookup_resolves_codes_and_aliases():
    config = load_config(SAMPLE_CONFIG)
    assert config.division_code(" 2 ") == "MID"
    assert config.division_code("eastside") == "EAST"
    assert config.division_code("WEST") == "WEST"
    assert config.division_code("Narnia") is None
