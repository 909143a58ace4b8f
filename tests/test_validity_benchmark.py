"""The validity benchmark runs end to end on a few experiments and ends with its JSON line."""

from __future__ import annotations

import json

import pytest

from benchmarks import validity


def test_validity_benchmark_ends_with_its_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    returned = validity.main(["--experiments", "40", "--seed", "3", "--no-progress"])
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert result == returned
    assert {
        "experiments",
        "false_positive_rate",
        "coverage_diff",
        "coverage_rel_lift",
        "seed",
    } <= result.keys()
    assert result["experiments"] == 40
    assert result["seed"] == 3
    for key in ("false_positive_rate", "coverage_diff", "coverage_rel_lift", "coverage_log_rr"):
        assert 0 <= result[key] <= 1
    assert sum(result["tests_used"].values()) == 40
    assert any("false-positive rate" in line for line in lines[:-1])  # a human-readable summary first


def test_validity_benchmark_is_reproducible_for_a_seed(capsys: pytest.CaptureFixture[str]) -> None:
    first = validity.main(["--experiments", "25", "--seed", "8", "--no-progress"])
    second = validity.main(["--experiments", "25", "--seed", "8", "--no-progress"])
    capsys.readouterr()
    first.pop("seconds"), second.pop("seconds")
    assert first == second
