"""rank_models(): ties for models the data can't tell apart, the leader rule, missing scores, Holm."""

import numpy as np
import pytest

from assay.stats import holm, paired_difference, rank_models


def make_scores(seed=0, n=120):
    rng = np.random.default_rng(seed)
    quality = rng.normal(6, 1.5, n)
    return {
        "strong": quality + 2 + rng.normal(0, 0.5, n),
        "twin": quality + 2 + rng.normal(0, 0.5, n),
        "weak": quality + rng.normal(0, 0.5, n),
    }


def test_clear_winner_pair_and_loser():
    r = rank_models(make_scores())
    by_model = {x.model: x for x in r.ranks}
    assert [x.model for x in r.ranks][2] == "weak"
    assert by_model["strong"].rank == by_model["twin"].rank == 1
    assert by_model["weak"].rank == 3
    assert set(by_model["strong"].tied_with) == {"twin"} and by_model["weak"].tied_with == []
    means = [x.mean for x in r.ranks]
    assert means == sorted(means, reverse=True)
    assert len(r.comparisons) == 3
    assert r.unranked == []


def test_holm_adjustment_applied_to_all_pairs():
    r = rank_models(make_scores(), seed=1)
    raw = [c.p_value for c in r.comparisons]
    assert [c.p_adjusted for c in r.comparisons] == pytest.approx(holm(raw))
    for c in r.comparisons:
        direct = paired_difference(make_scores()[c.model_a], make_scores()[c.model_b], seed=1)
        assert c.p_value == direct.p_value and c.mean_diff == direct.mean_diff
        assert c.significant == direct.significant(0.05, c.p_adjusted)


def test_leader_rule_prevents_chaining():
    """A ~ B and B ~ C can't be told apart, but A vs C can: C must not share A's rank."""
    rng = np.random.default_rng(5)
    n = 60
    base = rng.normal(5, 1, n)
    scores = {"A": base + 0.9 + rng.normal(0, 1, n), "B": base + 0.45 + rng.normal(0, 1, n),
              "C": base + rng.normal(0, 1, n)}
    r = rank_models(scores)
    sig = {(c.model_a, c.model_b): c.significant for c in r.comparisons}
    assert sig == {("A", "B"): False, ("A", "C"): True, ("B", "C"): False}  # the premise of this test
    ranks = {x.model: x.rank for x in r.ranks}
    assert ranks == {"A": 1, "B": 1, "C": 3}


def test_missing_scores_are_dropped_pairwise():
    s = make_scores()
    s["twin"] = s["twin"].copy()
    s["twin"][:30] = np.nan
    s["ghost"] = [None] * 120
    r = rank_models(s)
    assert r.unranked == ["ghost"]
    twin = next(x for x in r.ranks if x.model == "twin")
    assert twin.n == 90
    c = next(c for c in r.comparisons if {"twin", "weak"} == {c.model_a, c.model_b})
    assert c.n == 90


def test_unequal_lengths_rejected_when_paired_and_allowed_unpaired():
    with pytest.raises(ValueError):
        rank_models({"a": [1, 2, 3], "b": [1, 2]})
    rng = np.random.default_rng(2)
    r = rank_models({"a": rng.normal(1, 1, 80), "b": rng.normal(0, 1, 50), "c": rng.normal(0.05, 1, 60)},
                    paired=False)
    assert not r.paired
    ranks = {x.model: x.rank for x in r.ranks}
    assert ranks["a"] == 1 and ranks["b"] == ranks["c"] == 2
    assert all(c.test == "Welch's t-test (unpaired)" for c in r.comparisons)


def test_welch_matches_scipy():
    from scipy import stats
    rng = np.random.default_rng(3)
    a, b = rng.normal(1, 1, 40), rng.normal(0.5, 2, 25)
    r = rank_models({"a": a, "b": b}, paired=False)
    c = r.comparisons[0]
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert c.p_value == pytest.approx(ref.pvalue)
    lo, hi = ref.confidence_interval(0.95)
    assert (c.ci_low, c.ci_high) == pytest.approx((lo, hi))


def test_single_model_and_identical_models():
    r = rank_models({"only": [1, 2, 3]})
    assert [(x.model, x.rank, x.tied_with) for x in r.ranks] == [("only", 1, [])]
    r = rank_models({"x": [1, 2, 3, 4], "y": [1, 2, 3, 4]})
    assert [x.rank for x in r.ranks] == [1, 1]
