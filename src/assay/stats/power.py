"""Power helpers for paired comparisons: the smallest detectable difference and the sample size needed.

Both use the standard t approximation for a two-sided paired test at level ``alpha``: a true mean difference
delta is detected with probability ``power`` when

    |delta| >= (t_{1-alpha/2, n-1} + t_{power, n-1}) * sd_diff / sqrt(n).

The sign-flip permutation test used by :func:`assay.stats.paired_difference` has essentially the same power as
the paired t-test at these sample sizes, so these figures apply to it.
"""

from __future__ import annotations

import math

from ._dist import norm_ppf, t_ppf


def _check(alpha: float, power: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power}")


def _multiplier(n: int, alpha: float, power: float) -> float:
    df = n - 1
    return float(t_ppf(1 - alpha / 2, df) + t_ppf(power, df))


def min_detectable_difference(sd_diff: float | None, n: int, *, alpha: float = 0.05,
                              power: float = 0.8) -> float | None:
    """Smallest true mean paired difference detected with probability ``power`` (two-sided ``alpha``).

    ``sd_diff`` is the standard deviation of the per-sample differences, ``n`` the number of paired samples.
    Returns None when undefined (n < 2, or sd_diff missing, negative or not finite); 0.0 when sd_diff is 0.
    """
    _check(alpha, power)
    if sd_diff is None or n is None or n < 2:
        return None
    sd = float(sd_diff)
    if not math.isfinite(sd) or sd < 0:
        return None
    return _multiplier(int(n), alpha, power) * sd / math.sqrt(n)


def samples_needed(diff: float | None, sd_diff: float | None, *, alpha: float = 0.05,
                   power: float = 0.8) -> int | None:
    """Number of paired samples needed to detect a true mean difference ``diff`` with probability ``power``.

    The smallest n >= 2 with ``min_detectable_difference(sd_diff, n) <= |diff|``. Returns None when undefined:
    diff is 0 or missing, or sd_diff is missing, not positive or not finite.
    """
    _check(alpha, power)
    if diff is None or sd_diff is None:
        return None
    d, sd = abs(float(diff)), float(sd_diff)
    if not (math.isfinite(d) and math.isfinite(sd)) or d == 0 or sd <= 0:
        return None
    z = float(norm_ppf(1 - alpha / 2) + norm_ppf(power))
    ratio = (z * sd / d) ** 2
    if ratio > 1e15:  # far beyond any feasible study; avoid float-to-int blowups
        return None
    def fails(m: int) -> bool:
        return _multiplier(m, alpha, power) * sd / math.sqrt(m) > d

    # The t quantiles exceed the normal ones, so the normal answer n0 is a lower bound (n0 - 1 fails).
    lo = max(1, math.ceil(ratio) - 1)  # a failing n (n = 1 counts as failing: no test possible)
    hi = max(2, math.ceil(ratio))
    while fails(hi):
        lo, hi = hi, hi + max(1, hi // 100)
    while lo + 1 < hi:  # smallest passing n in (lo, hi]
        mid = (lo + hi) // 2
        if fails(mid):
            lo = mid
        else:
            hi = mid
    n = hi
    return int(n)


__all__ = ["min_detectable_difference", "samples_needed"]
