"""The statistics core of the evaluation: pure functions, A − B differences, never NaN.

Every estimate that the data cannot support raises InsufficientData(reason) instead.
"""

from analytics.stats.assignment import Srm, sample_ratio_mismatch
from analytics.stats.causal import (
    DiD,
    Effect,
    EventStudyPoint,
    complier_effect,
    complier_effect_from_rows,
    difference_in_differences,
    ipw_difference,
    lee_bounds,
    response_propensity,
)
from analytics.stats.common import InsufficientData, Interval
from analytics.stats.multiple import benjamini_hochberg, holm
from analytics.stats.power import mde_means, mde_proportions
from analytics.stats.proportions import (
    ChiSquare,
    RelativeLift,
    fisher_p,
    log_rr_ci,
    newcombe_diff_ci,
    pooled_z_p,
    preference_chi_square,
    relative_lift,
    relative_lift_delta,
    two_proportion_test,
    wilson_interval,
)
from analytics.stats.ratings import MeanDiff, Superiority, brunner_munzel, top_box, welch_diff

__all__ = [
    "ChiSquare",
    "DiD",
    "Effect",
    "EventStudyPoint",
    "InsufficientData",
    "Interval",
    "MeanDiff",
    "RelativeLift",
    "Srm",
    "Superiority",
    "benjamini_hochberg",
    "brunner_munzel",
    "complier_effect",
    "complier_effect_from_rows",
    "difference_in_differences",
    "fisher_p",
    "holm",
    "ipw_difference",
    "lee_bounds",
    "log_rr_ci",
    "mde_means",
    "mde_proportions",
    "newcombe_diff_ci",
    "pooled_z_p",
    "preference_chi_square",
    "relative_lift",
    "relative_lift_delta",
    "response_propensity",
    "sample_ratio_mismatch",
    "top_box",
    "two_proportion_test",
    "welch_diff",
    "wilson_interval",
]
