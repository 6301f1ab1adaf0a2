"""Pairwise judging: win rate (vs scipy's Wilson interval), Bradley-Terry (closed form and direct likelihood
maximization), length-controlled win rate (direct likelihood maximization and hand counts)."""

import math

import numpy as np
import pytest
from scipy import optimize, stats
from scipy.special import expit, log_expit

from assay.stats import bradley_terry, length_controlled_win_rate, win_rate

# ------------------------------------------------------------------------------------------------ win rate


def test_win_rate_counts_and_rate():
    w = win_rate([1, 1, 0.5, 0, 1, None])
    assert (w.n, w.wins, w.ties, w.losses) == (5, 3, 1, 1)
    assert w.rate == pytest.approx(3.5 / 5)
    assert w.ci_method == "Wilson score interval on the effective n (the outcomes' own variance)"


@pytest.mark.parametrize("k,n", [(7, 10), (0, 12), (20, 20), (55, 100), (3, 4)])
def test_wilson_matches_scipy(k, n):
    w = win_rate([1] * k + [0] * (n - k))
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert (w.ci_low, w.ci_high) == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_score_interval_hand_formula_with_ties():
    outcomes = [1] * 6 + [0.5] * 4 + [0] * 10  # mean 0.4
    w = win_rate(outcomes)
    z, p, n = stats.norm.ppf(0.975), 0.4, 20
    var = (6 * 0.6 ** 2 + 4 * 0.1 ** 2 + 10 * 0.4 ** 2) / 20  # 0.19, less than p(1 - p) = 0.24
    phi = (n * var + p * (1 - p)) / ((n + 1) * p * (1 - p))  # shrunk by one pseudo-outcome of full variance
    m = n / phi  # the effective n, about 25
    centre = (p + z * z / (2 * m)) / (1 + z * z / m)
    half = z / (1 + z * z / m) * math.sqrt(p * (1 - p) / m + z * z / (4 * m * m))
    assert (w.ci_low, w.ci_high) == pytest.approx((centre - half, centre + half))


def test_all_ties_give_a_narrow_interval_around_one_half():
    w = win_rate([0.5] * 12)
    assert w.ci_low < 0.5 < w.ci_high and w.ci_high - w.ci_low < 0.2
    assert (w.wins, w.ties, w.losses) == (0, 12, 0)


def test_win_rate_bootstrap_option_and_errors():
    w = win_rate([1, 0, 0.5, 1] * 10, method="bootstrap", seed=3)
    assert w.ci_low < w.rate < w.ci_high
    assert w == win_rate([1, 0, 0.5, 1] * 10, method="bootstrap", seed=3)
    assert win_rate([]).rate is None
    with pytest.raises(ValueError):
        win_rate([1, 2])
    with pytest.raises(ValueError):
        win_rate([1], method="magic")


# ------------------------------------------------------------------------------------------- Bradley-Terry


def test_two_models_closed_form():
    # x beats y 7 times, loses 3, ties 2 -> 8 wins vs 4 (ties half): MLE gap log(8/4); centred: +-log(2)/2
    comps = [("x", "y", 1)] * 7 + [("y", "x", 1)] * 3 + [("x", "y", 0.5)] * 2
    res = bradley_terry(comps, prior=1e-9, n_boot=0)
    assert [r.model for r in res] == ["x", "y"]
    assert res[0].score == pytest.approx(math.log(2) / 2, abs=1e-6)
    assert res[1].score == pytest.approx(-math.log(2) / 2, abs=1e-6)
    assert (res[0].wins, res[0].ties, res[0].losses, res[0].n) == (7, 2, 3, 12)


def penalized_nll(theta, idx, comps, prior):
    total = 0.0
    for mi, mj, o in comps:
        d = theta[idx[mi]] - theta[idx[mj]]
        total -= o * log_expit(d) + (1 - o) * log_expit(-d)
    total -= prior * np.sum(log_expit(theta) + log_expit(-theta))
    return total


def test_matches_direct_likelihood_maximization():
    rng = np.random.default_rng(0)
    models = ["a", "b", "c", "d", "e"]
    truth = {"a": 1.0, "b": 0.4, "c": 0.0, "d": -0.3, "e": -1.1}
    comps = []
    for _ in range(400):
        i, j = rng.choice(5, 2, replace=False)
        p = expit(truth[models[i]] - truth[models[j]])
        u = rng.random()
        comps.append((models[i], models[j], 1.0 if u < 0.9 * p else (0.5 if u < 0.9 * p + 0.1 else 0.0)))
    comps += [("a", "e", 1.0)] * 3  # a few extra games are fine
    res = bradley_terry(comps, n_boot=0, prior=0.5)
    idx = {m: i for i, m in enumerate(models)}
    opt = optimize.minimize(penalized_nll, np.zeros(5), args=(idx, comps, 0.5), method="BFGS",
                            options={"gtol": 1e-9})
    ref = opt.x - opt.x.mean()
    for r in res:
        assert r.score == pytest.approx(ref[idx[r.model]], abs=1e-5)
    assert [r.model for r in res] == sorted(models, key=lambda m: -ref[idx[m]])


def test_undefeated_model_stays_finite_and_cis():
    comps = [("champ", "mid", 1)] * 15 + [("champ", "low", 1)] * 15 + [("mid", "low", 1)] * 10 + \
        [("low", "mid", 1)] * 5
    res = bradley_terry(comps, n_boot=500, seed=1)
    assert res[0].model == "champ" and math.isfinite(res[0].score) and res[0].score < 10
    for r in res:
        assert r.ci_low <= r.score + 1e-9 and r.score - 1e-9 <= r.ci_high
    assert sum(r.score for r in res) == pytest.approx(0.0, abs=1e-9)
    assert res == bradley_terry(comps, n_boot=500, seed=1)


def test_orientation_does_not_matter():
    comps = [("a", "b", 1), ("b", "c", 0.5), ("c", "a", 0), ("a", "c", 1), ("b", "a", 1)]
    flipped = [(j, i, 1 - o) for i, j, o in comps]
    s1 = {r.model: r.score for r in bradley_terry(comps, n_boot=0)}
    s2 = {r.model: r.score for r in bradley_terry(flipped, n_boot=0)}
    assert s1 == pytest.approx(s2)


def test_bt_input_errors():
    assert bradley_terry([]) == []
    with pytest.raises(ValueError):
        bradley_terry([("a", "a", 1)])
    with pytest.raises(ValueError):
        bradley_terry([("a", "b", 2)])


def test_bt_bootstrap_cis_cover_truth_in_large_sample():
    rng = np.random.default_rng(7)
    truth = np.array([0.8, 0.0, -0.8])
    comps = []
    for _ in range(3000):
        i, j = rng.choice(3, 2, replace=False)
        comps.append((str(i), str(j), float(rng.random() < expit(truth[i] - truth[j]))))
    res = {int(r.model): r for r in bradley_terry(comps, seed=0)}
    for i, t in enumerate(truth):
        assert res[i].ci_low < t < res[i].ci_high


# ----------------------------------------------------------------------------------- length-controlled


def nll_logistic(beta, y, z):
    eta = beta[0] + beta[1] * z
    return -np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta))


def _penalized_nll(params, y, f, penalty):
    theta0, theta1, u = params[0], params[1], params[2:]
    eta = theta0 + theta1 * f + u
    prior = penalty * np.sum(u * u) / 2 + theta1 * theta1 / (2 * 2.5 ** 2)  # instructions sd 1, length sd 2.5
    return -np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta)) + prior


def test_length_controlled_matches_direct_fit_and_hand_counts():
    rng = np.random.default_rng(3)
    n = 80
    ld = rng.normal(40, 120, n)  # A tends to be longer
    p = expit(0.2 + 0.9 * np.tanh(ld / 120) + rng.normal(0, 0.7, n))
    u = rng.random(n)
    y = np.where(u < 0.85 * p, 1.0, np.where(u < 0.85 * p + 0.15, 0.5, 0.0))
    lc = length_controlled_win_rate(y, ld, seed=0, n_boot=400)
    sd = ld.std()
    f = np.tanh(ld / sd)
    # The same penalized likelihood maximized directly (ties as half a win and half a loss).
    opt = optimize.minimize(_penalized_nll, np.zeros(n + 2), args=(y, f, 1.0), method="L-BFGS-B",
                            options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 20000})
    theta0, theta1, u_hat = opt.x[0], opt.x[1], opt.x[2:]
    assert lc.model_coef == pytest.approx(theta0, abs=1e-4)
    assert lc.length_coef == pytest.approx(theta1, abs=1e-4)
    assert lc.length_controlled_win_rate == pytest.approx(np.mean(expit(theta0 + u_hat)), abs=1e-5)
    assert lc.length_sd == pytest.approx(sd)
    assert lc.raw_win_rate == pytest.approx(y.mean())
    decided = (y != 0.5) & (ld != 0)
    longer_won = ((y == 1) & (ld > 0)) | ((y == 0) & (ld < 0))
    assert lc.n_length_decided == decided.sum()
    assert lc.longer_preferred_rate == pytest.approx(longer_won[decided].mean())
    assert lc.ci_low < lc.length_controlled_win_rate < lc.ci_high
    assert lc.raw_win_rate > lc.length_controlled_win_rate  # A's length advantage inflated its raw rate


def test_longer_preferred_hand_example():
    outcomes = [1, 1, 0, 0.5, 1, 0]
    len_diff = [10, -5, -3, 40, 0, 7]
    # decided, unequal length: (1, +10) longer won; (1, -5) shorter won; (0, -3) longer (B) won; (0, +7) B
    # (shorter) won -> 2 of 4
    lc = length_controlled_win_rate(outcomes, len_diff, n_boot=0)
    assert lc.n_length_decided == 4 and lc.longer_preferred_rate == 0.5
    assert lc.raw_win_rate == pytest.approx(3.5 / 6)


def test_length_controlled_removes_pure_length_bias():
    """The judge only prefers the longer output; A is usually longer. Equal-length win rate ~ 50%."""
    rng = np.random.default_rng(11)
    n = 4000
    ld = rng.normal(60, 100, n)
    y = (rng.random(n) < expit(1.2 * ld / 100)).astype(float)
    lc = length_controlled_win_rate(y, ld, n_boot=200)
    assert lc.raw_win_rate > 0.6
    assert lc.length_controlled_win_rate == pytest.approx(0.5, abs=0.03)
    assert lc.longer_preferred_rate > 0.6


def test_length_following_a_few_samples_exactly_stays_finite():
    # The judge chose x fully whenever x was shorter and 3:1 when it was longer: the length term's prior keeps
    # the fit finite instead of an equal-length win rate of 100%.
    lc = length_controlled_win_rate([1, 0.75] * 4, [-21, 20] * 4, n_boot=100)
    assert lc.length_coef < 0 and 0.85 < lc.length_controlled_win_rate < 0.99


def test_length_controlled_edge_cases():
    same = length_controlled_win_rate([1, 0, 1, 1], [0, 0, 0, 0], n_boot=0)
    assert same.length_coef is None and same.length_sd is None
    assert same.length_controlled_win_rate == pytest.approx(0.75, abs=1e-4)
    assert same.longer_preferred_rate is None
    allwins = length_controlled_win_rate([1] * 10, list(range(-5, 5)), n_boot=100)
    assert 0.99 < allwins.length_controlled_win_rate <= 1.0
    assert length_controlled_win_rate([], []).n == 0
    with pytest.raises(ValueError):
        length_controlled_win_rate([1, 0], [1])


# ------------------------------------------------------------------------------- outcomes anywhere in [0, 1]


def test_partial_and_graded_outcomes_are_accepted_everywhere():
    # A pair judged win + tie over its two orders is 0.75; split repeats or judges give 0.25 or any mean.
    outcomes = [1, 0.75, 0.5, 0.25, 0, 0.6, 0.75]
    w = win_rate(outcomes)
    assert (w.n, w.wins, w.ties, w.losses) == (7, 4, 1, 2)  # above 0.5 a win, at 0.5 a tie, below a loss
    assert w.rate == pytest.approx(np.mean(outcomes))
    bt = bradley_terry([("x", "y", o) for o in outcomes] + [("y", "z", 0.75), ("z", "x", 0.25)], n_boot=50)
    x = next(s for s in bt if s.model == "x")
    assert (x.wins, x.ties, x.losses) == (5, 1, 2)
    lc = length_controlled_win_rate(outcomes, [30, 10, 0, -10, -40, 5, 20], n_boot=50)
    assert lc.raw_win_rate == pytest.approx(np.mean(outcomes))
    assert lc.length_controlled_win_rate is not None


@pytest.mark.parametrize("bad", [1.25, -0.1])
def test_outcomes_outside_the_unit_interval_are_refused(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        win_rate([1, bad])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        length_controlled_win_rate([1, bad], [1, 2])


@pytest.mark.parametrize("tie_share", [0.0, 0.3, 0.8])
def test_win_rate_interval_has_nominal_coverage_and_ideal_width_whatever_the_ties(tie_share):
    """Outcomes 0 / 0.5 / 1 with a share of ties: the 95% interval covers the true rate 95 +/- 1.5% of the time
    and is within 10% as wide as the normal interval built on the outcomes' true sd (the ideal)."""
    n, reps = 200, 3000
    win, loss = (1 - tie_share) * 0.7, (1 - tie_share) * 0.3
    truth = win + tie_share / 2
    sd = math.sqrt(win + tie_share / 4 - truth * truth)
    rng = np.random.default_rng(7)
    draws = rng.choice([0.0, 0.5, 1.0], size=(reps, n), p=[loss, tie_share, win])
    lows, highs = np.empty(reps), np.empty(reps)
    for i, row in enumerate(draws):
        w = win_rate(row)
        lows[i], highs[i] = w.ci_low, w.ci_high
    coverage = np.mean((lows <= truth) & (truth <= highs))
    ideal = 2 * stats.norm.ppf(0.975) * sd / math.sqrt(n)
    assert 0.935 <= coverage <= 0.965
    assert np.mean(highs - lows) == pytest.approx(ideal, rel=0.10)


def test_length_controlled_win_rate_recovers_a_planted_truth():
    """A simulated judge prefers the longer answer by a known amount; A is usually longer. Per instruction,
    P(A preferred) = sigmoid(0.4 + u + 1.2 tanh(len_diff / sd)), u ~ N(0, 1) the instruction's own effect. The
    true win rate (equal lengths) is the mean of sigmoid(0.4 + u). Each pair is judged in both orders."""
    rng = np.random.default_rng(5)
    n = 600
    u = rng.normal(0, 1, n)
    len_diff = rng.normal(300, 400, n)
    truth = float(np.mean(expit(0.4 + u)))
    p = expit(0.4 + u + 1.2 * np.tanh(len_diff / len_diff.std()))
    outcomes = (rng.random((n, 2)) < p[:, None]).mean(axis=1)  # 0, 0.5 or 1: the mean of the two orders
    lc = length_controlled_win_rate(outcomes, len_diff, n_boot=200)
    assert lc.raw_win_rate - truth > 0.08  # the raw rate is biased by length
    assert lc.length_controlled_win_rate == pytest.approx(truth, abs=0.03)
    assert lc.ci_low < truth < lc.ci_high
    assert lc.length_coef == pytest.approx(1.2, abs=0.35)
