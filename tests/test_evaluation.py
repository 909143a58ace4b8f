"""The evaluation from a frame of randomized victims: wiring to the statistics core, planted effects
recovered, corrections, degenerate data, suppression, and the CSV input."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from analytics import stats
from analytics.evaluation import EvaluationPlan, assert_finite, evaluate
from analytics.frame import COLUMNS, EvaluationInputError, prepare, read_csv
from simulate.randomized_victims import NO_EFFECT, make_frame, true_effects

PLAN = EvaluationPlan(agency="Test PD", experiment="test", planned_share_b=0.5)
BINARY_KEYS = {
    "name",
    "a",
    "b",
    "diff_pp",
    "diff_ci",
    "rel_lift",
    "rel_lift_ci",
    "rr_ci",
    "p_value",
    "p_adjusted",
    "test",
}


def _evaluate(frame: pd.DataFrame, plan: EvaluationPlan = PLAN) -> dict:
    return evaluate(prepare(frame), plan, source="csv", data_sha256="0" * 64)


@pytest.fixture(scope="module")
def planted() -> dict:
    return _evaluate(make_frame(60_000, seed=7))


def _by_name(results: dict) -> dict[str, dict]:
    return {o["name"]: o for o in [*results["binary"], *results["ratings"]]}


def test_results_hold_every_field_the_issue_names(planted):
    for outcome in planted["binary"]:
        assert outcome.keys() >= BINARY_KEYS
        assert outcome["a"].keys() == {"n", "count", "rate"}
    assert planted["srm"].keys() >= {"n_a", "n_b", "planned_share_b", "p_value"}
    assert [o["name"] for o in planted["binary"]] == [
        "responded",
        "prefers_text",
        "prefers_email",
        "prefers_letter",
        "prefers_phone",
        "likely_to_call",
        "trusts_police",
    ]
    json.dumps(planted, allow_nan=False)  # raises on NaN


def test_counts_and_statistics_come_from_the_frame(planted):
    frame = make_frame(60_000, seed=7)
    respondents = frame[frame["responded"] == 1]
    outcome = _by_name(planted)["prefers_text"]
    for arm, side in (("A", "a"), ("B", "b")):
        values = respondents.loc[respondents["arm"] == arm, "prefers_text"]
        assert outcome[side]["n"] == values.notna().sum()
        assert outcome[side]["count"] == values.sum()
    counts = (outcome["a"]["count"], outcome["a"]["n"], outcome["b"]["count"], outcome["b"]["n"])
    ci = stats.newcombe_diff_ci(*counts)
    assert outcome["diff_ci"] == pytest.approx([100 * ci.low, 100 * ci.high], abs=1e-8)
    assert outcome["p_value"] == pytest.approx(stats.two_proportion_test(*counts)[0], rel=1e-9)
    lift, lift_ci = stats.relative_lift_delta(*counts)
    assert outcome["rel_lift"] == pytest.approx(lift, abs=1e-9)
    assert outcome["rel_lift_ci"] == pytest.approx([lift_ci.low, lift_ci.high], abs=1e-9)


def test_planted_effects_are_recovered_and_significant(planted):
    outcomes = _by_name(planted)
    for name, truth in true_effects().items():
        outcome = outcomes[name]
        low, high = outcome["diff_ci"]
        scale = 100 if name != "service_rating" else 1
        assert low <= truth * scale <= high, (name, truth, outcome["diff_ci"])
        assert outcome["significant"], name
    assert outcomes["likely_to_call"]["diff_pp"] < 0
    assert outcomes["prefers_text"]["rel_lift"] == pytest.approx(0.166, abs=0.08)


def test_no_effect_means_nothing_significant_among_the_primary_outcomes():
    results = _evaluate(make_frame(20_000, seed=4, planted=NO_EFFECT))
    primary = [o for o in _by_name(results).values() if o["primary"]]
    assert primary and not any(o["significant"] for o in primary)


def test_holm_for_primary_and_bh_for_the_rest(planted):
    outcomes = _by_name(planted)
    primary = [o for o in outcomes.values() if o["primary"]]
    others = [o for o in outcomes.values() if not o["primary"] and o["p_value"] is not None]
    assert {o["correction"] for o in primary} == {"holm"}
    assert {o["correction"] for o in others} == {"bh"}
    assert stats.holm([o["p_value"] for o in primary]) == pytest.approx([o["p_adjusted"] for o in primary])
    for outcome in outcomes.values():
        if outcome["p_value"] is not None:
            assert outcome["p_adjusted"] >= outcome["p_value"] - 1e-15


def test_openers_cace_is_itt_over_the_open_rate_and_naive_is_only_beside_it(planted):
    for row in planted["openers"]:
        if row["insufficient"] is None and row["open_rate"]:
            assert row["cace_pp"] == pytest.approx(row["itt_pp"] / row["open_rate"], rel=0.05)
    assert "not a randomized comparison" in planted["openers_warning"]


def test_nonresponse_and_power_sections(planted):
    assert {row["name"] for row in planted["nonresponse"]} == {
        "prefers_text",
        "likely_to_call",
        "trusts_police",
    }
    for row in planted["nonresponse"]:
        low, high = row["lee_bounds_pp"]
        assert low <= high
    power = {row["name"]: row for row in planted["power"]}
    assert set(power) == set(PLAN.primary_outcomes)
    assert 0 < power["prefers_text"]["mde_pp"] < 10


def test_sample_ratio_mismatch_is_flagged():
    frame = make_frame(20_000, seed=1, holdout_share=0.45)
    results = _evaluate(frame)
    assert results["srm"]["alarm"] and results["srm"]["p_value"] < 0.001
    assert any("mismatch" in warning for warning in results["warnings"])
    assert not _evaluate(make_frame(20_000, seed=1))["srm"]["alarm"]


def test_small_subgroup_cells_are_suppressed():
    frame = make_frame(8_000, seed=5)
    frame.loc[frame.index[:40], "division"] = "TINY"
    results = _evaluate(frame)
    tiny = [cell for cell in results["subgroups"] if cell["value"] == "TINY"]
    assert tiny and all(cell["suppressed"] and cell["a"] is None and cell["diff_pp"] is None for cell in tiny)
    assert any(not cell["suppressed"] for cell in results["subgroups"])


# -- degenerate data: a reason, never NaN or a crash ------------------------------------------------------


def _degenerate_cases() -> dict[str, pd.DataFrame]:
    frame = make_frame(3_000, seed=11)
    only_a = frame.assign(arm="A")
    identical = frame.copy()
    identical.loc[identical["responded"] == 1, ["service_rating", "trust_rating"]] = 5
    identical.loc[identical["responded"] == 1, "prefers_text"] = 1
    tiny = make_frame(30, seed=2)
    nobody_answered = frame.assign(responded=0.0)
    return {
        "only A": only_a,
        "identical answers": identical,
        "30 victims": tiny,
        "no responses": nobody_answered,
    }


@pytest.mark.parametrize("case", list(_degenerate_cases()))
def test_degenerate_data_gives_reasons_not_nan(case):
    results = _evaluate(_degenerate_cases()[case])
    assert_finite(results)
    json.dumps(results, allow_nan=False)
    for outcome in _by_name(results).values():
        if outcome["diff_pp" if "diff_pp" in outcome else "diff"] is None:
            assert outcome["insufficient"], outcome["name"]


def test_an_empty_arm_is_insufficient_everywhere():
    results = _evaluate(_degenerate_cases()["only A"])
    assert all(o["insufficient"] and "holdout" in o["insufficient"] for o in _by_name(results).values())
    assert results["srm"]["alarm"]


def test_identical_ratings_say_so():
    results = _evaluate(_degenerate_cases()["identical answers"])
    rating = _by_name(results)["service_rating"]
    assert rating["insufficient"] and rating["diff"] is None
    assert not math.isnan(rating["a"]["mean"])


def test_rare_outcome_switches_to_boschloo():
    frame = make_frame(4_000, seed=9)
    respondents = frame.index[frame["responded"] == 1]
    frame.loc[respondents, "prefers_letter"] = 0
    frame.loc[respondents[:3], "prefers_letter"] = 1
    outcome = _by_name(_evaluate(frame))["prefers_letter"]
    assert outcome["test"] == "boschloo"


# -- input checks ------------------------------------------------------------------------------------


def _csv(tmp_path, frame: pd.DataFrame):
    path = tmp_path / "victims.csv"
    frame.to_csv(path, index=False)
    return path


def test_csv_round_trip_gives_the_same_results(tmp_path):
    frame = make_frame(5_000, seed=4)
    from_csv, sha = read_csv(_csv(tmp_path, frame))
    assert len(sha) == 64
    assert (
        _by_name(evaluate(from_csv, PLAN, source="csv", data_sha256=sha))["prefers_text"]["a"]
        == _by_name(_evaluate(frame))["prefers_text"]["a"]
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["trust_rating"]), "missing column(s): trust_rating"),
        (
            lambda f: f.assign(arm=["A", "C", *f["arm"][2:]]),
            "column 'arm' must be A (notified) or B (holdout); rows 3",
        ),
        (
            lambda f: f.assign(service_rating=[7, *f["service_rating"][1:]]),
            "'service_rating' must be a whole number",
        ),
        (lambda f: f.assign(opened=["maybe", *f["opened"][1:]]), "'opened' must be 0 or 1"),
        (
            lambda f: f.assign(victim_key=["dup", "dup", *f["victim_key"][2:]]),
            "'victim_key' repeats in rows 3",
        ),
        (lambda f: f.assign(seconds_on_survey=[-1, *f["seconds_on_survey"][1:]]), "negative in rows 2"),
    ],
)
def test_a_bad_file_is_rejected_whole_naming_the_problem(tmp_path, change, message):
    frame = change(make_frame(200, seed=1))
    with pytest.raises(EvaluationInputError) as raised:
        read_csv(_csv(tmp_path, frame))
    assert message in str(raised.value)


def test_the_holdout_cannot_have_opened_a_notice():
    frame = make_frame(200, seed=1)
    frame.loc[frame["arm"] == "B", "opened"] = 1
    with pytest.raises(EvaluationInputError, match="holdout"):
        prepare(frame)


def test_columns_are_the_documented_ones():
    assert set(COLUMNS) == {
        "victim_key",
        "arm",
        "division",
        "offense_group",
        "opened",
        "invited",
        "responded",
        "seconds_on_survey",
        "prefers_text",
        "prefers_email",
        "prefers_letter",
        "prefers_phone",
        "likely_to_call",
        "service_rating",
        "trust_rating",
        "wrote_free_text",
    }
    assert np.isnan(prepare(make_frame(50, seed=0))["service_rating"]).any()


def _panel(effect: float, seed: int = 0) -> pd.DataFrame:
    """Four divisions, 12 months; WEST live from month 4, the rest from month 10."""
    rng = np.random.default_rng(seed)
    rows = []
    for division, go_live in (
        ("WEST", "2025-04-01"),
        ("MID", "2025-10-01"),
        ("SOUTH", "2025-10-01"),
        ("EAST", "2025-10-01"),
    ):
        level = rng.normal(10, 1)
        for month in pd.date_range("2025-01-01", periods=12, freq="MS"):
            live = month >= pd.Timestamp(go_live)
            rate = level + rng.normal(0, 0.3) + (effect if live else 0.0)
            rows.append(
                {
                    "division_code": division,
                    "reported_month": month.date(),
                    "go_live_date": pd.Timestamp(go_live).date(),
                    "followup_calls_per_100_reports": rate,
                }
            )
    return pd.DataFrame(rows)


def test_staged_rollout_recovers_a_planted_drop_and_is_labelled_observational():
    from analytics.evaluation import rollout_from_panel

    rollout = rollout_from_panel(_panel(effect=-3.0), PLAN)
    assert rollout["label"] == "observational" and rollout["insufficient"] is None
    assert rollout["early_division"] == "WEST" and rollout["treatment_start"] == "2025-04"
    low, high = rollout["ci"]
    assert low <= -3.0 <= high
    assert {p["relative_month"] for p in rollout["event_study"]} >= {-3, 0, 5}
    assert rollout_from_panel(None, PLAN)["insufficient"]
    assert rollout_from_panel(_panel(0.0).assign(go_live_date=pd.Timestamp("2025-04-01").date()), PLAN)[
        "insufficient"
    ]


def test_figures_by_the_numbers_are_ratios_of_sums_not_means_of_rates():
    from analytics.evaluation import kpis_from_monthly

    monthly = pd.DataFrame(
        {
            "reported_month": pd.to_datetime(["2025-03-01", "2025-04-01"]),
            "victims": [1500, 1600],
            "victims_notified": [1000, 1400],
            "share_notified_by_email": [0.6, 0.5],
            "unsubscribe_rate": [0.0, 1 / 1400],
            "delivery_rate": [0.99, 0.98],
            "email_open_rate": [0.9, 0.92],
            "messages_sent": [1600, 2100],
            "messages_delivered": [1584, 2058],
            "emails_sent": [600, 700],
            "emails_opened": [540, 644],
            "victims_unsubscribed": [0, 1],
        }
    )
    kpis = kpis_from_monthly(monthly)
    assert [row["month"] for row in kpis["monthly"]] == ["2025-03", "2025-04"]
    totals = kpis["totals"]
    assert totals["victims_notified"] == 2400 and totals["victims_notified_per_month"] == 1200
    assert totals["email_open_rate"] == pytest.approx((540 + 644) / 1300)
    assert totals["email_share"] == pytest.approx((600 + 700) / 2400)
    assert totals["unsubscribe_rate"] == pytest.approx(1 / 2400)
    assert totals["delivery_rate"] == pytest.approx((1584 + 2058) / 3700)
    assert kpis_from_monthly(None)["insufficient"]


def _month_kind(month: str, kind: str, sent: int, delivered: int, emails: int, opened: int, **rest) -> dict:
    victims = {"victims": 100, "victims_eligible": 80} if kind in ("initial", "reporting_party") else {}
    return {
        "reported_month": pd.Timestamp(month),
        "notice_kind": kind,
        "victims": None,
        "victims_eligible": None,
        "victims_notified": rest.get("notified", sent),
        "share_notified_by_email": 0.5,
        "messages_sent": sent,
        "messages_delivered": delivered,
        "emails_sent": emails,
        "emails_opened": opened,
        "victims_unsubscribed": rest.get("unsubscribed", 0),
        "email_open_rate": opened / emails if emails else None,
        "delivery_rate": delivered / sent if sent else None,
        "unsubscribe_rate": 0.0,
        **victims,
    }


def test_figures_by_kind_count_each_kind_apart_and_victim_figures_stay_initial():
    from analytics.evaluation import figures_by_kind, kpis_from_monthly

    monthly = pd.DataFrame(
        [
            _month_kind("2025-03-01", "initial", 10, 9, 4, 3, notified=8, unsubscribed=1),
            _month_kind("2025-03-01", "status_update", 6, 6, 2, 1),
            _month_kind("2025-03-01", "survey", 5, 5, 5, 2),
            _month_kind("2025-04-01", "initial", 20, 18, 10, 9, notified=15),
            _month_kind("2025-04-01", "reporting_party", 0, 0, 0, 0, notified=0),
            _month_kind("2025-04-01", "status_update", 4, 3, 0, 0),
        ]
    )
    kpis = kpis_from_monthly(monthly)
    # The evaluation's figures are the victims' first notices only.
    assert kpis["totals"]["messages_sent"] == 30 and kpis["totals"]["victims_notified"] == 23
    assert kpis["totals"]["victims"] == 200
    assert [row["month"] for row in kpis["monthly"]] == ["2025-03", "2025-04"]

    figures = figures_by_kind(monthly)
    assert figures["insufficient"] is None
    kinds = {entry["kind"]: entry for entry in figures["kinds"]}
    assert list(kinds) == ["initial", "status_update", "survey"]  # a kind that sent nothing is left out
    assert kinds["status_update"]["messages_sent"] == 10 and kinds["status_update"]["messages_delivered"] == 9
    assert kinds["status_update"]["delivery_rate"] == pytest.approx(0.9)
    assert kinds["status_update"]["email_open_rate"] == pytest.approx(0.5)
    assert kinds["initial"]["unsubscribe_rate"] == pytest.approx(1 / 23)
    assert kinds["survey"]["label"] == "Survey invitations"
    assert [(row["month"], row["kind"]) for row in figures["monthly"]] == [
        ("2025-03", "initial"),
        ("2025-03", "status_update"),
        ("2025-03", "survey"),
        ("2025-04", "initial"),
        ("2025-04", "status_update"),
    ]
    april = figures["monthly"][-1]
    assert april["email_open_rate"] is None and april["emails_sent"] == 0  # texts only: no open rate
    assert figures_by_kind(None)["insufficient"] == "figures by notice kind come from the marts"
    # Monthly figures from before notice kinds: the kinds cannot be told apart, and say so.
    assert figures_by_kind(monthly.drop(columns=["notice_kind"]))["insufficient"]


def test_results_from_a_csv_have_no_kinds_and_say_why():
    results = _evaluate(make_frame(400, seed=3))
    assert results["figures_by_kind"] == {
        "kinds": [],
        "monthly": [],
        "insufficient": "figures by notice kind come from the marts",
    }


def test_words_for_flags_in_a_csv_read_as_numbers(tmp_path):
    frame = make_frame(300, seed=6)
    words = frame.assign(opened=frame["opened"].map({1.0: "yes", 0.0: "no"}))
    from_words, _ = read_csv(_csv(tmp_path, words))
    from_numbers = prepare(frame)
    assert np.array_equal(from_words["opened"].to_numpy(), from_numbers["opened"].to_numpy())


def test_rollout_uses_the_others_go_live_when_the_data_start_after_the_early_one():
    from analytics.evaluation import rollout_from_panel

    panel = _panel(effect=-3.0)
    panel = panel[pd.to_datetime(panel["reported_month"]) >= pd.Timestamp("2025-04-01")]
    rollout = rollout_from_panel(panel, PLAN)
    assert rollout["insufficient"] is None and rollout["event"] == "other divisions went live"
    low, high = rollout["ci"]
    assert low <= -3.0 <= high
