"""agreement(): Krippendorff's textbook example, hand-worked kappas, scipy correlations, brute-force alpha."""

import itertools

import numpy as np
import pytest
from scipy import stats

from assay.stats import agreement

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", binary data, two observers, 10 units.
KRIPP_A = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
KRIPP_B = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]


def test_krippendorff_textbook_nominal_example():
    # coincidences: o00 = 10, o01 = o10 = 4, o11 = 2; n0 = 14, n1 = 6, n = 20
    # alpha = 1 - (n - 1) * o01 / (n0 * n1) = 1 - 19 * 4 / 84 = 0.095
    res = agreement(KRIPP_A, KRIPP_B, kind="nominal")
    assert res.krippendorff_alpha == pytest.approx(1 - 19 * 4 / 84)
    assert round(res.krippendorff_alpha, 3) == 0.095
    assert res.krippendorff_metric == "nominal"


def test_cohen_kappa_hand_worked():
    # observed agreement 6/10; margins A: 8 zeros, 2 ones; B: 6 zeros, 4 ones
    # chance agreement .8 * .6 + .2 * .4 = .56 -> kappa = (.6 - .56) / (1 - .56) = 1/11
    res = agreement(KRIPP_A, KRIPP_B, kind="nominal")
    assert res.exact_agreement == pytest.approx(0.6)
    assert res.cohen_kappa == pytest.approx(0.04 / 0.44)
    assert res.labels == [0, 1]
    assert res.confusion == [[5, 3], [1, 1]]
    assert res.pearson is None and res.spearman is None and res.kendall_tau_b is None
    assert res.weighted_kappa_quadratic is None
    assert res.n == 10


def test_quadratic_weighted_kappa_hand_worked():
    a = [1, 2, 3, 4, 5, 3]
    b = [1, 2, 4, 4, 5, 2]
    # weights (i - j)^2 / 16. Observed disagreements: (3,4) and (3,2), each weight 1/16 -> sum 2/16.
    # Expected counts e_ij = row_i * col_j / 6 with rows (1,1,2,1,1), cols (1,2,0,2,1):
    # sum_ij w_ij row_i col_j / 6, computed by hand below.
    rows = np.array([1, 1, 2, 1, 1])
    cols = np.array([1, 2, 0, 2, 1])
    levels = np.arange(1, 6)
    w = (levels[:, None] - levels[None, :]) ** 2 / 16
    expected = float((w * np.outer(rows, cols)).sum() / 6)
    res = agreement(a, b, kind="ordinal")
    assert res.weighted_kappa_quadratic == pytest.approx(1 - (2 / 16) / expected)
    # unweighted: agreement 4/6; chance (1*1 + 1*2 + 2*0 + 1*2 + 1*1) / 36 = 1/6 -> (2/3 - 1/6) / (5/6) = 0.6
    assert res.cohen_kappa == pytest.approx(0.6)
    assert res.labels == [1, 2, 3, 4, 5]


def test_quadratic_kappa_equals_formula_from_confusion_matrix_random():
    rng = np.random.default_rng(1)
    a = rng.integers(1, 6, 200)
    b = np.clip(a + rng.integers(-1, 2, 200), 1, 5)
    res = agreement(a, b, kind="ordinal")
    conf = np.array(res.confusion, dtype=float)
    k = conf.shape[0]
    i, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    w = (i - j) ** 2 / (k - 1) ** 2
    e = np.outer(conf.sum(1), conf.sum(0)) / conf.sum()
    assert res.weighted_kappa_quadratic == pytest.approx(1 - (w * conf).sum() / (w * e).sum())


def test_correlations_match_scipy():
    rng = np.random.default_rng(2)
    a = rng.integers(1, 11, 100).astype(float)
    b = np.clip(a + rng.normal(0, 2, 100).round(), 1, 10)
    for kind in ("continuous", "ordinal"):
        res = agreement(a, b, kind=kind)
        assert res.pearson == pytest.approx(stats.pearsonr(a, b)[0])
        assert res.spearman == pytest.approx(stats.spearmanr(a, b)[0])
        assert res.kendall_tau_b == pytest.approx(stats.kendalltau(a, b)[0])
        assert res.n == 100


def brute_force_alpha(a, b, delta2):
    """Krippendorff's alpha for two coders, no missing data, from its definition over pairable values."""
    pooled = list(a) + list(b)
    n = len(pooled)
    d_o = sum(2 * delta2(x, y) for x, y in zip(a, b)) / n
    d_e = sum(delta2(pooled[i], pooled[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    return 1 - d_o / d_e


def ordinal_delta2_factory(pooled):
    values = sorted(set(pooled))
    freq = {v: pooled.count(v) for v in values}

    def delta2(c, k):
        if c == k:
            return 0.0
        lo, hi = sorted((c, k))
        between = sum(freq[g] for g in values if lo <= g <= hi)
        return (between - (freq[c] + freq[k]) / 2) ** 2

    return delta2


def test_krippendorff_ordinal_and_interval_against_brute_force():
    rng = np.random.default_rng(3)
    a = [int(v) for v in rng.integers(1, 6, 40)]
    b = [int(min(5, max(1, v + rng.integers(-1, 3)))) for v in a]
    ordinal = agreement(a, b, kind="ordinal")
    assert ordinal.krippendorff_metric == "ordinal"
    assert ordinal.krippendorff_alpha == pytest.approx(brute_force_alpha(a, b, ordinal_delta2_factory(a + b)))
    interval = agreement(a, b, kind="continuous")
    assert interval.krippendorff_metric == "interval"
    assert interval.krippendorff_alpha == pytest.approx(brute_force_alpha(a, b, lambda x, y: (x - y) ** 2))
    nominal = agreement(a, b, kind="nominal")
    assert nominal.krippendorff_alpha == pytest.approx(brute_force_alpha(a, b, lambda x, y: float(x != y)))


def test_string_labels_and_explicit_order():
    a = ["bad", "ok", "good", "good", "ok"]
    b = ["bad", "good", "good", "ok", "ok"]
    nominal = agreement(a, b, kind="nominal")
    assert nominal.labels == ["bad", "good", "ok"]  # sorted
    assert nominal.exact_agreement == pytest.approx(0.6)
    ordinal = agreement(a, b, kind="ordinal", labels=["bad", "ok", "good"])
    assert ordinal.labels == ["bad", "ok", "good"]
    assert ordinal.confusion == [[1, 0, 0], [0, 1, 1], [0, 1, 1]]
    assert ordinal.spearman == pytest.approx(stats.spearmanr([0, 1, 2, 2, 1], [0, 2, 2, 1, 1])[0])
    with pytest.raises(ValueError):
        agreement(a, b, kind="ordinal", labels=["bad", "ok"])
    with pytest.raises(ValueError):
        agreement(a, b, kind="ordinal")  # strings have no known order: alphabetical would be wrong
    with pytest.raises(ValueError):
        agreement([1, 2], [1], kind="nominal")
    with pytest.raises(ValueError):
        agreement([1], [1], kind="fuzzy")


def test_missing_and_degenerate():
    res = agreement([1, None, 3, 4], [1, 2, float("nan"), 4], kind="ordinal")
    assert res.n == 2
    perfect_constant = agreement([3, 3, 3], [3, 3, 3], kind="ordinal")
    assert perfect_constant.cohen_kappa is None and perfect_constant.krippendorff_alpha is None
    assert perfect_constant.pearson is None and perfect_constant.exact_agreement == 1.0
    empty = agreement([], [], kind="continuous")
    assert empty.n == 0 and empty.pearson is None and empty.krippendorff_alpha is None
    perfect = agreement([1, 2, 3], [1, 2, 3], kind="continuous")
    assert perfect.krippendorff_alpha == pytest.approx(1.0) and perfect.pearson == pytest.approx(1.0)


def test_a_single_pair_has_only_exact_agreement() -> None:
    from assay.stats import agreement

    one = agreement([3], [4], kind="ordinal")
    assert (one.n, one.exact_agreement) == (1, 0.0)
    assert one.cohen_kappa is None and one.weighted_kappa_quadratic is None and one.krippendorff_alpha is None
    assert agreement([3], [3], kind="nominal").exact_agreement == 1.0
