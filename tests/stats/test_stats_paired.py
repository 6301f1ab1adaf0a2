"""paired_difference() and the power helpers against hand-worked examples, scipy and brute force."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from assay.stats import min_detectable_difference, paired_difference, samples_needed


def brute_force_sign_flip(d):
    nz = [v for v in d if v != 0]
    obs = abs(sum(nz))
    hits = total = 0
    for signs in itertools.product((1, -1), repeat=len(nz)):
        total += 1
        hits += abs(sum(s * v for s, v in zip(signs, nz))) >= obs - 1e-9
    return hits / total


def test_hand_worked_example():
    a, b = [3, 4, 5, 6], [1, 4, 4, 7]  # differences 2, 0, 1, -1
    c = paired_difference(a, b)
    assert (c.n, c.wins, c.ties, c.losses) == (4, 2, 1, 1)
    assert (c.mean_a, c.mean_b, c.mean_diff) == (4.5, 4.0, 0.5)
    # sd of (2, 0, 1, -1): squared deviations 2.25 + .25 + .25 + 2.25 = 5, / 3
    assert c.sd_diff == pytest.approx(math.sqrt(5 / 3))
    assert c.effect_size == pytest.approx(0.5 / math.sqrt(5 / 3))
    # non-zero differences 2, 1, -1: the 8 sign patterns give |sums| 4,2,2,0,0,2,2,4 -> 6 of 8 reach |2|
    assert c.p_value == pytest.approx(0.75)
    assert c.test == "paired permutation test (sign-flip), exact over all 8 sign patterns"
    assert c.ci_low <= 0.5 <= c.ci_high
    assert c.n_needed is not None and c.n_needed > 4


def test_exact_p_matches_brute_force_and_scipy():
    rng = np.random.default_rng(4)
    a = rng.integers(1, 11, 12).astype(float)
    b = np.clip(a + rng.integers(-3, 2, 12), 1, 10)
    c = paired_difference(a, b)
    assert c.p_value == pytest.approx(brute_force_sign_flip(list(a - b)))
    ref = stats.permutation_test((a, b), lambda x, y: np.mean(x - y), permutation_type="samples",
                                 alternative="two-sided", vectorized=False)
    assert c.p_value == pytest.approx(ref.pvalue)


def test_monte_carlo_p_close_to_scipy_permutation_test():
    rng = np.random.default_rng(8)
    a = rng.integers(1, 11, 60).astype(float)
    b = np.clip(a + rng.integers(-2, 3, 60) - (rng.random(60) < 0.25), 1, 10)
    c = paired_difference(a, b, n_boot=50000)
    assert c.test == "paired permutation test (sign-flip), 50000 resamples"
    ref = stats.permutation_test((a, b), lambda x, y, axis: np.mean(x - y, axis=axis), permutation_type="samples",
                                 alternative="two-sided", vectorized=True, n_resamples=50000,
                                 random_state=np.random.default_rng(0))
    assert 0.001 < ref.pvalue < 0.5  # a non-trivial p-value
    assert c.p_value == pytest.approx(ref.pvalue, abs=0.006)


def test_continuous_data_uses_index_paths_and_agrees_with_t_test():
    rng = np.random.default_rng(9)
    a = rng.normal(0.15, 1, 400)
    b = rng.normal(0.0, 1, 400)
    c = paired_difference(a, b, n_boot=20000)
    t = stats.ttest_rel(a, b)
    assert c.p_value == pytest.approx(t.pvalue, rel=0.15, abs=0.003)
    lo, hi = t.confidence_interval(0.95)
    assert c.ci_low == pytest.approx(lo, abs=0.03 * (hi - lo))
    assert c.ci_high == pytest.approx(hi, abs=0.03 * (hi - lo))


def test_all_zero_differences():
    c = paired_difference([3, 4, 5] * 10, [3, 4, 5] * 10)
    assert c.p_value == 1.0
    assert (c.mean_diff, c.ci_low, c.ci_high) == (0.0, 0.0, 0.0)
    assert c.effect_size is None and c.mde is None and c.n_needed is None
    assert c.ties == 30
    assert not c.significant()


def test_constant_nonzero_difference_is_significant_but_has_no_effect_size():
    c = paired_difference([5] * 30, [4] * 30)
    assert c.p_value < 0.001 and c.significant()
    assert c.effect_size is None and c.n_needed is None


def test_missing_pairs_dropped_and_length_mismatch():
    c = paired_difference([1, None, 3, float("nan"), 5], [0, 2, np.nan, 4, 4])
    assert c.n == 2 and c.mean_diff == 1.0
    with pytest.raises(ValueError):
        paired_difference([1, 2, 3], [1, 2])
    empty = paired_difference([None], [1])
    assert empty.n == 0 and empty.p_value is None and empty.mean_diff is None
    one = paired_difference([2], [1])
    assert one.n == 1 and one.ci_low is None and one.p_value == 1.0


def test_reproducible():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=50), rng.normal(size=50)
    assert paired_difference(a, b, seed=3) == paired_difference(a, b, seed=3)


def test_power_figures():
    rng = np.random.default_rng(9)
    a = rng.integers(3, 9, 80).astype(float)
    b = a + rng.integers(-2, 3, 80)
    c = paired_difference(a, b)
    mult = stats.t.ppf(0.975, 79) + stats.t.ppf(0.8, 79)
    assert c.mde == pytest.approx(mult * c.sd_diff / math.sqrt(80))
    assert c.p_value >= 0.05 and c.mean_diff != 0
    assert c.n_needed == samples_needed(c.mean_diff, c.sd_diff)
    assert c.n_needed > 80
    significant = paired_difference(a + 1, b)
    assert significant.p_value < 0.05 and significant.n_needed is None


def test_min_detectable_difference_formula():
    assert min_detectable_difference(1.0, 100) == pytest.approx(
        (stats.t.ppf(0.975, 99) + stats.t.ppf(0.8, 99)) / 10)
    # large n: the normal-approximation constant 2.8016
    assert min_detectable_difference(1.0, 10**6) * 1000 == pytest.approx(
        stats.norm.ppf(0.975) + stats.norm.ppf(0.8), rel=1e-4)
    assert min_detectable_difference(2.0, 1) is None
    assert min_detectable_difference(None, 10) is None
    assert min_detectable_difference(0.0, 10) == 0.0


@pytest.mark.parametrize("diff,sd", [(0.3, 1.0), (0.5, 2.0), (1.0, 1.0), (0.05, 0.7)])
def test_samples_needed_is_smallest_n_and_has_80_percent_power(diff, sd):
    n = samples_needed(diff, sd)
    assert min_detectable_difference(sd, n) <= diff < min_detectable_difference(sd, n - 1) if n > 2 else True
    # exact power of the paired t-test at that n (noncentral t) is about 80%
    df, nc = n - 1, diff / sd * math.sqrt(n)
    crit = stats.t.ppf(0.975, df)
    exact_power = stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc)
    assert 0.79 <= exact_power <= 0.85


def test_samples_needed_undefined_cases():
    assert samples_needed(0.0, 1.0) is None
    assert samples_needed(1.0, 0.0) is None
    assert samples_needed(None, 1.0) is None
    # normal approximation check: (2.8 * sd / diff)^2 + a little for the t quantiles
    n = samples_needed(0.2, 1.0)
    assert (2.8016 / 0.2) ** 2 < n < (2.8016 / 0.2) ** 2 + 5
