"""`vnotify demo` end to end on a small agency: every stage runs, and the evaluation recovers the
effects the simulated victims were given (each planted effect inside its reported 95% interval)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from simulate.randomized_victims import Planted
from vnotify.cli import app

PLANTED = Planted()
# Planted A − B differences (percentage points) and relative lifts, from the victims' answer model.
DIFFERENCES_PP = {
    "prefers_text": 100 * PLANTED.prefers_text_b * PLANTED.prefers_text_lift,
    "likely_to_call": 100 * PLANTED.likely_to_call_b * PLANTED.likely_to_call_lift,
    "trusts_police": 100 * PLANTED.trust_top_b * PLANTED.trust_lift,
}
LIFTS = {
    "prefers_text": PLANTED.prefers_text_lift,
    "likely_to_call": PLANTED.likely_to_call_lift,
    "trusts_police": PLANTED.trust_lift,
}
SERVICE_POINTS = PLANTED.service_mean_b * PLANTED.service_lift


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, server_admin_url):
    import os

    out = tmp_path_factory.mktemp("demo")
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = server_admin_url
    try:
        result = CliRunner().invoke(
            app, ["demo", "--months", "9", "--scale", "0.6", "--seed", "2025", "--out", str(out), "--json"]
        )
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
    assert result.exit_code == 0, result.output[-3000:]
    summary = json.loads(result.output.strip().splitlines()[-1])
    results = json.loads((out / "report" / "results.json").read_text())
    return summary, results, out


@pytest.mark.slow(minutes=7)
@pytest.mark.db
def test_every_stage_ran(demo_run):
    summary, results, out = demo_run
    assert summary["periods"] == 20
    assert summary["batches"]["loaded"] >= 20 and summary["batches"].get("rejected", 0) == 0
    assert summary["sent"]["initial accepted"] > 0 and summary["sent"]["survey accepted"] > 0
    # The demo turns on every kind of notice; the report shows each kind apart.
    assert summary["sent"]["reporting_party accepted"] > 0
    assert summary["sent"]["status_update accepted"] > 0
    shown = {entry["kind"] for entry in results["figures_by_kind"]["kinds"]}
    assert {"initial", "reporting_party", "status_update", "survey"} <= shown
    html = (out / "report" / "report.html").read_text()
    assert "By kind of message" in html
    assert summary["followup_calls"] > 0
    assert (out / "report" / "report.html").exists()
    totals = results["kpis"]["totals"]
    assert 0.85 < totals["email_open_rate"] < 0.95
    assert totals["delivery_rate"] > 0.95
    assert results["funnel"]["b"]["opened"] == 0 < results["funnel"]["a"]["opened"]
    assert not results["srm"]["alarm"]


@pytest.mark.slow
@pytest.mark.db
def test_planted_effects_lie_inside_their_intervals(demo_run):
    _, results, _ = demo_run
    binary = {o["name"]: o for o in results["binary"]}
    for name, truth in DIFFERENCES_PP.items():
        low, high = binary[name]["diff_ci"]
        assert low <= truth <= high, (name, truth, binary[name]["diff_ci"])
        low, high = binary[name]["rel_lift_ci"]
        assert low <= LIFTS[name] <= high, (name, LIFTS[name], binary[name]["rel_lift_ci"])
    service = next(o for o in results["ratings"] if o["name"] == "service_rating")
    low, high = service["diff_ci"]
    assert low <= SERVICE_POINTS <= high
    response = binary["responded"]
    assert 0.10 < response["a"]["rate"] < 0.18 and 0.10 < response["b"]["rate"] < 0.18
