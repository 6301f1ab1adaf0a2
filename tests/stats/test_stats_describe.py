"""describe(): fixed-data checks, the BCa engine against scipy, edge cases, speed and small-n coverage."""


import numpy as np
import pytest
from scipy import stats

from assay.stats import ScoreSummary, describe
from assay.stats._resample import bca_mean_interval, bootstrap_means


def test_hand_worked_summary():
    s = describe([1, 2, 2, 3, 5], scale=(1, 5))
    assert s.n == 5
    assert s.mean == pytest.approx(2.6)
    assert s.median == 2.0
    # deviations -1.6 -0.6 -0.6 0.4 2.4 -> squares sum 9.2 -> variance 9.2 / 4 = 2.3
    assert s.sd == pytest.approx(np.sqrt(2.3))
    assert (s.min, s.max) == (1.0, 5.0)
    assert s.histogram == {1: 1, 2: 2, 3: 1, 4: 0, 5: 1}
    assert list(s.histogram) == [1, 2, 3, 4, 5]
    assert s.ci_low < s.mean < s.ci_high
    assert 1.0 <= s.ci_low and s.ci_high <= 5.0
    assert s.ci_method == "bootstrap BCa (t-expanded), 10000 resamples"
    assert all(type(v) is float for v in (s.mean, s.median, s.sd, s.ci_low, s.ci_high))


def test_matches_numpy_and_scipy_on_random_data():
    x = np.random.default_rng(3).integers(1, 11, size=137).astype(float)
    s = describe(x)
    assert s.mean == pytest.approx(x.mean())
    assert s.median == pytest.approx(np.median(x))
    assert s.sd == pytest.approx(np.std(x, ddof=1))
    assert sum(s.histogram.values()) == 137
    assert "0" not in s.to_dict()["histogram"]  # no scale: only observed values


def test_histogram_without_scale_and_non_integer_scores():
    s = describe([0.5, 0.5, 1.0])
    assert s.histogram == {0.5: 2, 1.0: 1}
    assert s.to_dict()["histogram"] == {"0.5": 2, "1": 1}
    s = describe([0.5, 1.5], scale=(0, 2))  # non-integer scores: no zero-filled levels
    assert s.histogram == {0.5: 1, 1.5: 1}


def test_missing_values_dropped_and_edge_cases():
    s0 = describe([], scale=(1, 3))
    assert s0.n == 0 and s0.mean is None and s0.ci_low is None and s0.sd is None
    assert s0.histogram == {1: 0, 2: 0, 3: 0}
    assert describe([None, float("nan")]).n == 0
    s1 = describe([None, 4])
    assert (s1.n, s1.mean, s1.median, s1.sd, s1.ci_low, s1.ci_high) == (1, 4.0, 4.0, None, None, None)
    const = describe([3, 3, 3, 3])
    assert (const.sd, const.ci_low, const.ci_high) == (0.0, 3.0, 3.0)
    with pytest.raises(ValueError):
        describe([1, float("inf")])
    with pytest.raises(ValueError):
        describe([1, 2], scale=(5, 1))


def test_reproducible_with_seed():
    x = np.random.default_rng(0).integers(1, 6, size=40)
    assert describe(x, seed=7) == describe(x, seed=7)
    y = np.random.default_rng(0).normal(size=40)  # continuous: bootstrap quantiles move with the seed
    assert describe(y, seed=7, n_boot=500) == describe(y, seed=7, n_boot=500)
    assert describe(y, seed=7, n_boot=500).ci_low != describe(y, seed=8, n_boot=500).ci_low


def test_bootstrap_engine_moments():
    """The multinomial shortcut must resample like the textbook bootstrap: same mean and spread of means."""
    rng = np.random.default_rng(1)
    for x in (rng.integers(1, 11, 80).astype(float), rng.normal(size=300)):  # counts path and index path
        boots = bootstrap_means(x, 40000, np.random.default_rng(2))
        n = x.size
        assert boots.mean() == pytest.approx(x.mean(), abs=4 * x.std() / np.sqrt(n * 40000))
        expected_sd = x.std(ddof=0) / np.sqrt(n)
        assert boots.std() == pytest.approx(expected_sd, rel=0.02)


def test_plain_bca_matches_scipy():
    """Without the small-sample expansion our interval is the textbook BCa: compare with scipy's."""
    x = np.random.default_rng(11).choice(np.arange(1, 11), p=[.02, .02, .02, .03, .05, .06, .1, .2, .25, .25],
                                         size=60).astype(float)
    ours = bca_mean_interval(x, 100000, np.random.default_rng(0), expand=False)
    ref = stats.bootstrap((x,), np.mean, n_resamples=100000, method="BCa", random_state=np.random.default_rng(1))
    assert ours[0] == pytest.approx(ref.confidence_interval.low, abs=0.02)
    assert ours[1] == pytest.approx(ref.confidence_interval.high, abs=0.02)


def test_expanded_interval_close_to_t_interval_for_large_symmetric_samples():
    x = np.random.default_rng(5).normal(10, 2, size=1500)
    s = describe(x)
    lo, hi = stats.t.interval(0.95, x.size - 1, loc=x.mean(), scale=stats.sem(x))
    assert s.ci_low == pytest.approx(lo, abs=0.03 * (hi - lo))
    assert s.ci_high == pytest.approx(hi, abs=0.03 * (hi - lo))


def test_small_n_coverage_on_discrete_scores():
    """n = 10..30 scores on a 1-5 scale: the 95% CI of the mean covers the true mean ~95% of the time
    (slightly conservative at the smallest n; a plain bootstrap gives ~92% at n = 10)."""
    levels = np.arange(1, 6)
    p = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
    true_mean = float(levels @ p)
    rng = np.random.default_rng(2024)
    hits, runs = 0, 2000
    for i in range(runs):
        x = rng.choice(levels, p=p, size=int(rng.integers(10, 31)))
        s = describe(x, seed=i, n_boot=2000)
        hits += s.ci_low <= true_mean <= s.ci_high
    assert 0.935 <= hits / runs <= 0.975


def test_record_is_frozen():
    s = describe([1, 2, 3])
    assert isinstance(s, ScoreSummary)
    with pytest.raises(AttributeError):
        s.mean = 0.0
