"""Simulation: do paired_difference's 95% CIs cover the true difference ~95% of the time, and does its test
keep false positives at ~5% when the models are equally good?

World: integer judge scores on a 1-10 scale. Sample i has a latent quality q_i ~ N(5.5, 1.5); a model's
score is round(q_i + effect_model + judge noise N(0, 1)), clipped to 1..10. Model A has effect +delta/2, model
B -delta/2. Clipping and rounding make the true difference of the *observed* scores differ from delta, so
we compute it exactly: marginally q + effect + noise ~ N(5.5 + effect, sqrt(1.5^2 + 1^2)), and
P(score = k) is a difference of normal CDFs. Each experiment draws n ~ U{50..200} samples. Seeds are fixed,
so the test is deterministic. The figures are quoted in docs/statistics.md.
"""

import numpy as np
import pytest
from scipy import stats

from assay.stats import paired_difference

LO, HI = 1, 10
Q_MU, Q_SD, NOISE = 5.5, 1.5, 1.0
N_EXPERIMENTS = 1500
N_BOOT = 2000


def expected_score(mu: float) -> float:
    sd = np.hypot(Q_SD, NOISE)
    k = np.arange(LO, HI + 1)
    upper = np.where(k < HI, stats.norm.cdf((k + 0.5 - mu) / sd), 1.0)
    lower = np.where(k > LO, stats.norm.cdf((k - 0.5 - mu) / sd), 0.0)
    return float((k * (upper - lower)).sum())


def true_difference(delta: float) -> float:
    return expected_score(Q_MU + delta / 2) - expected_score(Q_MU - delta / 2)


def draw(rng, n, delta):
    q = rng.normal(Q_MU, Q_SD, n)
    a = np.clip(np.rint(q + delta / 2 + rng.normal(0, NOISE, n)), LO, HI)
    b = np.clip(np.rint(q - delta / 2 + rng.normal(0, NOISE, n)), LO, HI)
    return a, b


def simulate(delta, seed):
    rng = np.random.default_rng(seed)
    truth = true_difference(delta)
    covered = significant = 0
    for e in range(N_EXPERIMENTS):
        a, b = draw(rng, int(rng.integers(50, 201)), delta)
        c = paired_difference(a, b, seed=e, n_boot=N_BOOT)
        covered += c.ci_low <= truth <= c.ci_high
        significant += c.p_value < 0.05
    return covered / N_EXPERIMENTS, significant / N_EXPERIMENTS


def test_true_difference_formula_matches_a_huge_population():
    a, b = draw(np.random.default_rng(99), 2_000_000, 0.6)
    assert true_difference(0.6) == pytest.approx(float((a - b).mean()), abs=0.004)
    assert true_difference(0.6) < 0.6  # clipping shrinks the observed difference a little


@pytest.fixture(scope="module")
def results():
    return {"effect": simulate(0.6, seed=2025), "null": simulate(0.0, seed=7)}


def test_ci_coverage_with_a_real_difference(results):
    coverage, power = results["effect"]
    print(f"delta=0.6 (true observed difference {true_difference(0.6):.4f}): coverage {coverage:.4f}, "
          f"share significant {power:.4f}")
    assert 0.935 <= coverage <= 0.965
    assert power > 0.9  # the difference is large enough to be found almost always at these n


def test_ci_coverage_and_false_positives_with_no_difference(results):
    coverage, false_positive = results["null"]
    print(f"delta=0: coverage {coverage:.4f}, false-positive rate {false_positive:.4f}")
    assert 0.935 <= coverage <= 0.965
    assert false_positive <= 0.06


def test_pooled_coverage(results):
    pooled = (results["effect"][0] + results["null"][0]) / 2
    assert 0.94 <= pooled <= 0.96
