"""Vectorized resampling engines shared by the statistics modules (private).

Two tricks keep these fast without changing the statistics:

* Bootstrap of a mean. Drawing n values with replacement from the data is the same, in distribution, as
  drawing the counts of each distinct value from a multinomial(n, observed frequencies). Judge scores take few
  distinct values, so a resample costs O(distinct values) instead of O(n). Data with many distinct values fall
  back to ordinary index resampling, done in chunks to bound memory.
* Sign-flip permutation of paired differences. Flipping the sign of each of the c differences that share the
  same absolute value v changes their sum by v * (2K - c) with K ~ Binomial(c, 1/2); so again one draw per
  distinct value.
"""

from __future__ import annotations

import numpy as np

from ._dist import norm_cdf, norm_ppf, t_ppf

# Above this many distinct values, resample indices instead of multinomial counts.
_MAX_DISTINCT_FOR_COUNTS = 64
# Elements per chunk when resampling indices / random signs (bounds memory to ~16 MB per chunk).
_CHUNK_ELEMENTS = 2_000_000
# Exact enumeration of sign patterns up to this many non-zero differences (2**16 = 65,536 patterns).
EXACT_SIGN_FLIP_MAX = 16


def bootstrap_means(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``n_boot`` bootstrap resamples of ``x`` (i.i.d. resampling with replacement)."""
    n = x.size
    values, counts = np.unique(x, return_counts=True)
    if values.size <= _MAX_DISTINCT_FOR_COUNTS or values.size * 4 <= n:
        draws = rng.multinomial(n, counts / n, size=n_boot)
        means: np.ndarray = draws @ values / n
        return means
    out = np.empty(n_boot)
    rows = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = x[idx].mean(axis=1)
    return out


def bca_mean_interval(x: np.ndarray, n_boot: int, rng: np.random.Generator,
                      level: float = 0.95, expand: bool = True) -> tuple[float, float]:
    """BCa bootstrap interval for the mean of ``x`` with the small-sample ("t-expanded") correction.

    The plain bootstrap distribution of a mean is too narrow by sqrt((n-1)/n) and uses normal rather than t
    quantiles, which costs several points of coverage at n = 10-30. Following Hesterberg (2015, "What teachers
    should know about the bootstrap"), the nominal normal quantile z is replaced by sqrt(n/(n-1)) * t_{n-1}
    before the usual BCa adjustment for bias (z0) and skewness (acceleration a, from the jackknife).
    ``expand=False`` gives the textbook BCa interval (used by the tests to check against scipy).
    Requires n >= 2. Returns (low, high); a degenerate interval when all values are equal.
    """
    n = x.size
    theta = float(x.mean())
    if np.all(x == x[0]):
        return theta, theta
    boots = bootstrap_means(x, n_boot, rng)
    tol = 1e-9 * max(1.0, float(np.abs(x).max()))
    below = np.count_nonzero(boots < theta - tol)
    equal = np.count_nonzero(np.abs(boots - theta) <= tol)
    prop = (below + 0.5 * equal) / n_boot
    prop = min(max(prop, 0.5 / n_boot), 1.0 - 0.5 / n_boot)
    z0 = float(norm_ppf(prop))
    dev = x - theta
    ss = float(np.sum(dev * dev))
    accel = float(np.sum(dev ** 3)) / (6.0 * ss ** 1.5) if ss > 0 else 0.0
    tail = (1.0 - level) / 2.0
    if expand:
        z = float(np.sqrt(n / (n - 1.0)) * t_ppf(1.0 - tail, n - 1))
    else:
        z = float(norm_ppf(1.0 - tail))
    probs = []
    for zq in (-z, z):
        w = z0 + zq
        denom = 1.0 - accel * w
        adj = z0 + w / denom if denom > 0 else (np.inf if zq > 0 else -np.inf)
        probs.append(float(norm_cdf(adj)))
    lo, hi = np.quantile(boots, probs)
    return float(lo), float(hi)


def bca_method_name(n_boot: int) -> str:
    return f"bootstrap BCa (t-expanded), {n_boot} resamples"


def sign_flip_p_value(d: np.ndarray, n_perm: int, rng: np.random.Generator) -> tuple[float, bool, int]:
    """Two-sided p-value of the sign-flip permutation test of H0: differences symmetric about zero.

    Statistic: |sum of differences|. Exact (all 2**m sign patterns of the m non-zero differences) when
    m <= EXACT_SIGN_FLIP_MAX, otherwise Monte Carlo with ``n_perm`` random sign patterns and the
    (1 + hits) / (1 + n_perm) estimate, which is a valid p-value. Returns (p, exact, patterns_used).
    All-zero differences give p = 1 (and patterns_used = 0).
    """
    nz = d[d != 0]
    m = nz.size
    if m == 0:
        return 1.0, True, 0
    observed = abs(float(nz.sum()))
    tol = 1e-9 * float(np.abs(nz).sum())
    absvals, counts = np.unique(np.abs(nz), return_counts=True)
    if m <= EXACT_SIGN_FLIP_MAX:
        patterns = np.arange(2 ** m, dtype=np.int64)
        bits = ((patterns[:, None] >> np.arange(m)) & 1).astype(float)
        sums = (2.0 * bits - 1.0) @ np.abs(nz)
        hits = int(np.count_nonzero(np.abs(sums) >= observed - tol))
        return float(hits / 2 ** m), True, 2 ** m
    if absvals.size <= _MAX_DISTINCT_FOR_COUNTS:
        k = rng.binomial(counts, 0.5, size=(n_perm, absvals.size))
        sums = (2.0 * k - counts) @ absvals
        hits = int(np.count_nonzero(np.abs(sums) >= observed - tol))
    else:
        hits = 0
        mag = np.abs(nz)
        rows = max(1, _CHUNK_ELEMENTS // m)
        for start in range(0, n_perm, rows):
            stop = min(n_perm, start + rows)
            bits = rng.random((stop - start, m)) < 0.5
            sums = 2.0 * (bits @ mag) - mag.sum()
            hits += int(np.count_nonzero(np.abs(sums) >= observed - tol))
    return float((1 + hits) / (1 + n_perm)), False, n_perm
