"""holm(): hand-worked example and the textbook formula written out independently."""

import numpy as np
import pytest

from assay.stats import holm


def test_hand_worked_example():
    # sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> raised to 0.06: monotone)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_capped_at_one_and_trivial_cases():
    assert holm([0.5, 0.6]) == [1.0, 1.0]
    assert holm([]) == []
    assert holm([0.03]) == [0.03]
    assert holm([0.0, 1.0]) == [0.0, 1.0]
    with pytest.raises(ValueError):
        holm([0.1, float("nan")])
    with pytest.raises(ValueError):
        holm([1.2])


def reference_holm(p):
    """statsmodels' multipletests(method='holm') formula, written out by hand."""
    p = np.asarray(p, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    adj_sorted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj_sorted
    return out


def test_matches_reference_formula_on_random_inputs():
    rng = np.random.default_rng(0)
    for m in (2, 3, 7, 20, 100):
        p = rng.uniform(0, 0.2, m) ** 2
        adj = holm(p)
        assert adj == pytest.approx(list(reference_holm(p)))
        assert all(a >= q for a, q in zip(adj, p))  # never below the raw p
        sorted_adj = [adj[i] for i in np.argsort(p, kind="stable")]
        assert sorted_adj == sorted(sorted_adj)  # monotone in the order of the raw p-values
        assert max(adj) <= 1.0


def test_returns_plain_floats():
    assert all(type(v) is float for v in holm(np.array([0.01, 0.02])))
