"""Statistical validity of the evaluation's tests and intervals, by simulation at the case study's size.

    .venv/bin/python -m benchmarks.validity --experiments 1000 --seed 0

Each simulated experiment randomizes ~2,600 victims half and half (~1,300 per arm), ~13.6% of them
answer the survey, and each answer is yes with probability 0.4 among respondents (Group B).
  A/A     both arms at 0.4: the share of experiments where `two_proportion_test` rejects at
          alpha 0.05 is its false-positive rate (must lie in [0.035, 0.065]);
  planted Group A at 0.4 × 1.166 (the case study's 16.6% lift): the share of experiments whose 95%
          `newcombe_diff_ci` contains the true difference is its coverage (must lie in [0.93, 0.97]);
          the same for the `relative_lift_delta` (gbstats) and `log_rr_ci` intervals of the lift.
The last line is JSON: experiments, false_positive_rate, coverage_diff, coverage_rel_lift,
coverage_log_rr, seed, the Monte Carlo standard errors, tests used, and within_bounds.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter
from collections.abc import Sequence

import numpy as np
from rich.console import Console
from rich.progress import track

from analytics.stats import (
    InsufficientData,
    log_rr_ci,
    newcombe_diff_ci,
    relative_lift_delta,
    two_proportion_test,
)

VICTIMS = 2600
RESPONSE_RATE = 0.136
BASE_RATE = 0.4
LIFT = 0.166
ALPHA = 0.05
FALSE_POSITIVE_BOUNDS = (0.035, 0.065)
COVERAGE_BOUNDS = (0.93, 0.97)


def simulate_counts(rng: np.random.Generator, experiments: int, rate_a: float, rate_b: float) -> np.ndarray:
    """Rows of (count_a, respondents_a, count_b, respondents_b), one per simulated experiment."""
    randomized_a = rng.binomial(VICTIMS, 0.5, experiments)
    respondents_a = rng.binomial(randomized_a, RESPONSE_RATE)
    respondents_b = rng.binomial(VICTIMS - randomized_a, RESPONSE_RATE)
    return np.column_stack(
        [
            rng.binomial(respondents_a, rate_a),
            respondents_a,
            rng.binomial(respondents_b, rate_b),
            respondents_b,
        ]
    )


def share(hits: int, total: int) -> float:
    return hits / total if total else 0.0


def monte_carlo_se(rate: float, total: int) -> float:
    return math.sqrt(rate * (1 - rate) / total) if total else 0.0


def run(experiments: int, seed: int, progress: bool = True) -> dict:
    rng = np.random.default_rng(seed)
    console = Console(stderr=True)
    started = time.perf_counter()

    null_counts = simulate_counts(rng, experiments, BASE_RATE, BASE_RATE)
    rejections, tests_used = 0, Counter()
    steps = track(null_counts, "A/A experiments", console=console, transient=True, disable=not progress)
    for count_a, n_a, count_b, n_b in steps:
        p_value, name = two_proportion_test(int(count_a), int(n_a), int(count_b), int(n_b))
        rejections += p_value < ALPHA
        tests_used[name] += 1

    rate_a = BASE_RATE * (1 + LIFT)
    true_diff, true_lift = rate_a - BASE_RATE, LIFT
    planted_counts = simulate_counts(rng, experiments, rate_a, BASE_RATE)
    intervals = {
        "diff": (lambda *counts: newcombe_diff_ci(*counts, alpha=ALPHA), true_diff),
        "rel_lift": (lambda *counts: relative_lift_delta(*counts, alpha=ALPHA)[1], true_lift),
        "log_rr": (lambda *counts: log_rr_ci(*counts, alpha=ALPHA), true_lift),
    }
    covered, defined = Counter(), Counter()
    steps = track(
        planted_counts, "planted-effect experiments", console=console, transient=True, disable=not progress
    )
    for row in steps:
        counts = tuple(int(value) for value in row)
        for key, (interval_of, truth) in intervals.items():
            try:
                interval = interval_of(*counts)
            except InsufficientData:  # e.g. no 'yes' in Group B: the lift is undefined
                continue
            defined[key] += 1
            covered[key] += interval.contains(truth)

    false_positive_rate = share(rejections, experiments)
    coverage = {key: share(covered[key], defined[key]) for key in ("diff", "rel_lift", "log_rr")}
    within = (
        FALSE_POSITIVE_BOUNDS[0] <= false_positive_rate <= FALSE_POSITIVE_BOUNDS[1]
        and COVERAGE_BOUNDS[0] <= coverage["diff"] <= COVERAGE_BOUNDS[1]
    )
    return {
        "experiments": experiments,
        "false_positive_rate": round(false_positive_rate, 4),
        "false_positive_rate_se": round(monte_carlo_se(false_positive_rate, experiments), 4),
        "coverage_diff": round(coverage["diff"], 4),
        "coverage_diff_se": round(monte_carlo_se(coverage["diff"], experiments), 4),
        "coverage_rel_lift": round(coverage["rel_lift"], 4),
        "coverage_log_rr": round(coverage["log_rr"], 4),
        "rel_lift_undefined": experiments - defined["rel_lift"],
        "tests_used": dict(tests_used),
        "mean_respondents_per_arm": round(float(null_counts[:, [1, 3]].mean()), 1),
        "seed": seed,
        "within_bounds": within,
        "seconds": round(time.perf_counter() - started, 2),
    }


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--experiments", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    args = parser.parse_args(argv)
    if args.experiments < 1:
        parser.error("--experiments must be at least 1")
    result = run(args.experiments, args.seed, progress=not args.no_progress)

    low, high = FALSE_POSITIVE_BOUNDS
    print(
        f"A/A: {result['experiments']} experiments, ~{result['mean_respondents_per_arm']:.0f} respondents per arm, "
        f"base rate {BASE_RATE}"
    )
    print(
        f"  false-positive rate of two_proportion_test at alpha {ALPHA}: {result['false_positive_rate']:.3f} "
        f"(± {result['false_positive_rate_se']:.3f}; must lie in [{low}, {high}]); tests used {result['tests_used']}"
    )
    low, high = COVERAGE_BOUNDS
    print(f"planted effect: Group A at {BASE_RATE} × {1 + LIFT} (lift {LIFT:.1%})")
    print(
        f"  coverage of the 95% newcombe_diff_ci: {result['coverage_diff']:.3f} "
        f"(± {result['coverage_diff_se']:.3f}; must lie in [{low}, {high}])"
    )
    print(f"  coverage of the 95% relative_lift_delta interval (gbstats): {result['coverage_rel_lift']:.3f}")
    print(f"  coverage of the 95% log_rr_ci interval: {result['coverage_log_rr']:.3f}")
    print(f"{'within bounds' if result['within_bounds'] else 'OUT OF BOUNDS'} ({result['seconds']} s)")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
