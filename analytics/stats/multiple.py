"""Corrections for testing several outcomes at once: Holm (family-wise) and Benjamini–Hochberg (FDR)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _p_values(p_values: Sequence[float]) -> np.ndarray:
    array = np.asarray(p_values, dtype=float).reshape(-1)
    if np.isnan(array).any() or (array < 0).any() or (array > 1).any():
        raise ValueError("p-values must lie in [0, 1] (leave out outcomes that could not be tested)")
    return array


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order; = statsmodels multipletests(method="holm")."""
    p = _p_values(p_values)
    order = np.argsort(p, kind="mergesort")
    steps = np.arange(p.size, 0, -1)
    adjusted_sorted = np.minimum(np.maximum.accumulate(p[order] * steps), 1.0)
    adjusted = np.empty_like(p)
    adjusted[order] = adjusted_sorted
    return adjusted.tolist()


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values, in the input order; = multipletests(method="fdr_bh")."""
    p = _p_values(p_values)
    order = np.argsort(p, kind="mergesort")
    scaled = p[order] * p.size / np.arange(1, p.size + 1)
    adjusted_sorted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    adjusted = np.empty_like(p)
    adjusted[order] = adjusted_sorted
    return adjusted.tolist()
