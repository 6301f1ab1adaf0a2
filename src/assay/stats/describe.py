"""Summary of one model's scores on one rubric: centre, spread, a 95% CI of the mean and a histogram."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._records import Record, fnum, to_float_array
from ._resample import bca_mean_interval, bca_method_name


@dataclass(frozen=True)
class ScoreSummary(Record):
    """Descriptive statistics of a set of scores (missing values, None or NaN, are left out and not counted).

    ``ci_low``/``ci_high`` bound the 95% confidence interval of the mean, computed by ``ci_method``; they are
    None when n < 2. ``histogram`` maps each score value to its count (keys are ints when all scores are
    integral); with a ``scale`` every integer level of the scale is listed, zeros included. In ``to_dict()``
    the histogram keys are strings (JSON object keys), e.g. ``{"1": 0, "2": 3}``.
    """

    n: int
    mean: float | None
    median: float | None
    sd: float | None
    min: float | None
    max: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    histogram: dict[Any, int] = field(default_factory=dict)


def _histogram(x: np.ndarray, scale: tuple[float, float] | None) -> dict[Any, int]:
    integral = bool(np.all(np.mod(x, 1) == 0))
    if integral:
        values, counts = np.unique(x.astype(np.int64), return_counts=True)
        hist: dict[Any, int] = {int(v): int(c) for v, c in zip(values, counts)}
        if scale is not None:
            lo, hi = scale
            if float(lo).is_integer() and float(hi).is_integer():
                for level in range(int(lo), int(hi) + 1):
                    hist.setdefault(level, 0)
        return dict(sorted(hist.items()))
    values, counts = np.unique(x, return_counts=True)
    return {float(v): int(c) for v, c in zip(values, counts)}


def describe(scores: Sequence[float | None], *, scale: tuple[float, float] | None = None, seed: int = 0,
             n_boot: int = 10000, level: float = 0.95) -> ScoreSummary:
    """Describe ``scores``: n, mean, median, sd (ddof=1), 95% CI of the mean, histogram.

    The CI is a BCa bootstrap interval with a small-sample (t-expanded) correction (see docs/statistics.md);
    it had 95-96% coverage at n = 10-50 on discrete 1-10 and 1-5 scores in our simulations, where the plain
    percentile/BCa bootstrap undercovers at n = 10. ``seed`` makes it reproducible.
    """
    if scale is not None:
        if len(scale) != 2 or scale[0] > scale[1]:
            raise ValueError(f"scale must be (low, high) with low <= high, got {scale!r}")
    if n_boot < 100:
        raise ValueError("n_boot must be at least 100")
    arr = to_float_array(scores, name="scores")
    x = arr[~np.isnan(arr)]
    n = int(x.size)
    if n == 0:
        empty: dict[Any, int] = {}
        if scale is not None and float(scale[0]).is_integer() and float(scale[1]).is_integer():
            empty = dict.fromkeys(range(int(scale[0]), int(scale[1]) + 1), 0)
        return ScoreSummary(n=0, mean=None, median=None, sd=None, min=None, max=None, ci_low=None, ci_high=None,
                            ci_method="none (no scores)", histogram=empty)
    mean = float(x.mean())
    hist = _histogram(x, scale)
    if n == 1:
        return ScoreSummary(n=1, mean=mean, median=mean, sd=None, min=mean, max=mean, ci_low=None, ci_high=None,
                            ci_method="none (n < 2)", histogram=hist)
    rng = np.random.default_rng(seed)
    lo, hi = bca_mean_interval(x, n_boot, rng, level=level)
    return ScoreSummary(
        n=n, mean=mean, median=float(np.median(x)), sd=fnum(x.std(ddof=1)), min=float(x.min()), max=float(x.max()),
        ci_low=lo, ci_high=hi, ci_method=bca_method_name(n_boot), histogram=hist,
    )


__all__ = ["ScoreSummary", "describe"]
