"""Paired comparison of two models scored on the same samples: difference, CI, test, effect size, power."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._records import Record, fnum, to_float_array
from ._resample import bca_mean_interval, bca_method_name, sign_flip_p_value
from .power import min_detectable_difference, samples_needed

EFFECT_SIZE_NAME = "Cohen's d_z (mean difference / SD of differences)"


@dataclass(frozen=True)
class PairedComparison(Record):
    """Model A versus model B on the same n samples; every difference is A minus B.

    ``ci_low``/``ci_high``: 95% CI of the mean paired difference (``ci_method``), None when n < 2.
    ``p_value``: two-sided, from ``test``; None when n = 0. ``effect_size``: Cohen's d_z, None when the
    differences have no spread. ``mde``: the smallest true difference this n detects with 80% power at
    two-sided alpha = .05 given the observed SD of differences (None when undefined). ``n_needed``: when the
    difference is not significant at .05 and not zero, the approximate number of paired samples needed to
    detect the observed difference with 80% power; otherwise None.
    """

    n: int
    mean_a: float | None
    mean_b: float | None
    mean_diff: float | None
    sd_diff: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    p_value: float | None
    test: str
    effect_size: float | None
    effect_size_name: str
    wins: int
    ties: int
    losses: int
    mde: float | None
    n_needed: int | None

    def ci_excludes_zero(self) -> bool:
        """True when the CI exists and lies entirely above or entirely below zero."""
        if self.ci_low is None or self.ci_high is None:
            return False
        return self.ci_low > 0 or self.ci_high < 0

    def significant(self, alpha: float = 0.05, adjusted_p: float | None = None) -> bool:
        """The significance rule used across assay: p < alpha AND the 95% CI excludes zero.

        ``adjusted_p`` (e.g. Holm-adjusted) replaces the raw p-value when given. The two criteria almost
        always agree; when they don't, the pair is reported as not told apart.
        """
        p = adjusted_p if adjusted_p is not None else self.p_value
        if p is None or self.mean_diff is None or self.mean_diff == 0:
            return False
        return p < alpha and self.ci_excludes_zero()


def _test_name(exact: bool, patterns: int) -> str:
    if patterns == 0:
        return "paired permutation test (sign-flip); all differences are zero"
    if exact:
        return f"paired permutation test (sign-flip), exact over all {patterns} sign patterns"
    return f"paired permutation test (sign-flip), {patterns} resamples"


def paired_difference(a: Sequence[float | None] | np.ndarray, b: Sequence[float | None] | np.ndarray, *,
                      seed: int = 0, n_boot: int = 10000, n_perm: int | None = None, alpha: float = 0.05,
                      power: float = 0.8) -> PairedComparison:
    """Compare two models' scores on the same samples: ``a[i]`` and ``b[i]`` are scores on sample i.

    Pairs where either score is missing (None or NaN) are dropped; n counts complete pairs. The CI is a paired
    bootstrap (BCa with the small-sample t-expansion, ``n_boot`` resamples of the differences); the p-value
    is a sign-flip permutation test of |sum of differences|, exact when at most 16 differences are non-zero,
    else Monte Carlo with ``n_perm`` (default: ``n_boot``) random sign patterns. ``alpha``/``power`` set the
    power figures (``mde``, ``n_needed``). Raises ValueError when the lengths differ.
    """
    xa = to_float_array(a, name="a")
    xb = to_float_array(b, name="b")
    if xa.size != xb.size:
        raise ValueError(f"paired scores must have equal lengths, got {xa.size} and {xb.size}")
    if n_boot < 100:
        raise ValueError("n_boot must be at least 100")
    n_perm = n_boot if n_perm is None else int(n_perm)
    if n_perm < 100:
        raise ValueError("n_perm must be at least 100")
    keep = ~(np.isnan(xa) | np.isnan(xb))
    xa, xb = xa[keep], xb[keep]
    n = int(xa.size)
    ci_method = bca_method_name(n_boot)
    if n == 0:
        return PairedComparison(
            n=0, mean_a=None, mean_b=None, mean_diff=None, sd_diff=None, ci_low=None, ci_high=None,
            ci_method="none (no paired samples)", p_value=None, test="none (no paired samples)", effect_size=None,
            effect_size_name=EFFECT_SIZE_NAME, wins=0, ties=0, losses=0, mde=None, n_needed=None,
        )
    d = xa - xb
    mean_diff = float(d.mean())
    rng = np.random.default_rng(seed)
    sd = float(d.std(ddof=1)) if n >= 2 else None
    ci_low: float | None = None
    ci_high: float | None = None
    if n >= 2:
        ci_low, ci_high = bca_mean_interval(d, n_boot, rng)
    p, exact, patterns = sign_flip_p_value(d, n_perm, rng)
    effect = mean_diff / sd if sd is not None and sd > 0 else None
    mde = min_detectable_difference(sd, n, alpha=alpha, power=power) if sd is not None and sd > 0 else None
    n_needed = None
    if p >= alpha and mean_diff != 0 and sd is not None and sd > 0:
        n_needed = samples_needed(mean_diff, sd, alpha=alpha, power=power)
    return PairedComparison(
        n=n, mean_a=float(xa.mean()), mean_b=float(xb.mean()), mean_diff=mean_diff, sd_diff=fnum(sd),
        ci_low=fnum(ci_low), ci_high=fnum(ci_high), ci_method=ci_method if n >= 2 else "none (n < 2)",
        p_value=float(p), test=_test_name(exact, patterns), effect_size=fnum(effect),
        effect_size_name=EFFECT_SIZE_NAME, wins=int(np.count_nonzero(d > 0)), ties=int(np.count_nonzero(d == 0)),
        losses=int(np.count_nonzero(d < 0)), mde=fnum(mde), n_needed=n_needed,
    )


__all__ = ["EFFECT_SIZE_NAME", "PairedComparison", "paired_difference"]
