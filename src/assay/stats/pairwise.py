"""Statistics of pairwise (A-versus-B) judging: win rates, Bradley-Terry strengths, length bias.

Outcomes are from A's point of view after both-order judging has been reduced to one verdict per
comparison: 1 = A wins, 0.5 = tie, 0 = B wins. Ties always count as half a win for each side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from ._dist import norm_ppf

from ._records import Record, fnum, to_float_array

_Z95 = float(norm_ppf(0.975))


def _outcomes(outcomes: Sequence[float | None], *, name: str = "outcomes") -> np.ndarray:
    arr = to_float_array(outcomes, name=name)
    arr = arr[~np.isnan(arr)]
    bad = ~(np.isclose(arr, 0.0) | np.isclose(arr, 0.5) | np.isclose(arr, 1.0))
    if bad.any():
        raise ValueError(f"{name} must be 1 (A wins), 0.5 (tie) or 0 (B wins); got {arr[bad][0]}")
    return np.round(arr * 2) / 2


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# ----------------------------------------------------------------------------------------------- win rate


@dataclass(frozen=True)
class WinRate(Record):
    """Share of comparisons A won, ties counted as half; 95% CI by ``ci_method``; None when n = 0."""

    n: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    wins: int
    ties: int
    losses: int


def _wilson(successes: float, n: int, z: float = _Z95) -> tuple[float, float]:
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0))
    lo = 0.0 if successes <= 0 else max(0.0, centre - half)
    hi = 1.0 if successes >= n else min(1.0, centre + half)
    return lo, hi


def win_rate(outcomes: Sequence[float | None], *, seed: int = 0, method: str = "wilson",
             n_boot: int = 10000) -> WinRate:
    """Win rate of A over B with a 95% CI. Missing outcomes (None/NaN) are dropped.

    ``method="wilson"`` (default): Wilson score interval on wins + ties/2 out of n. Ties have less variance
    than a coin flip, so with many ties this interval is slightly conservative; it behaves well at rates
    near 0 or 1 and at small n. ``method="bootstrap"``: percentile bootstrap of the mean outcome (``seed``,
    ``n_boot``), degenerate when all outcomes are equal.
    """
    x = _outcomes(outcomes)
    n = int(x.size)
    wins, ties, losses = int(np.count_nonzero(x == 1)), int(np.count_nonzero(x == 0.5)), int(np.count_nonzero(x == 0))
    if method not in ("wilson", "bootstrap"):
        raise ValueError(f"method must be 'wilson' or 'bootstrap', got {method!r}")
    if n == 0:
        return WinRate(n=0, rate=None, ci_low=None, ci_high=None, ci_method="none (no outcomes)",
                       wins=0, ties=0, losses=0)
    rate = float(x.mean())
    if method == "wilson":
        lo, hi = _wilson(wins + ties / 2, n)
        ci_method = "Wilson score interval (ties as half a win)"
    else:
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(n, np.array([losses, ties, wins]) / n, size=n_boot)
        boots = draws @ np.array([0.0, 0.5, 1.0]) / n
        lo, hi = (float(v) for v in np.quantile(boots, [0.025, 0.975]))
        ci_method = f"bootstrap percentile, {n_boot} resamples"
    return WinRate(n=n, rate=rate, ci_low=float(lo), ci_high=float(hi), ci_method=ci_method,
                   wins=wins, ties=ties, losses=losses)


# ------------------------------------------------------------------------------------------ Bradley-Terry


@dataclass(frozen=True)
class BTScore(Record):
    """A model's Bradley-Terry strength on a log scale, centred so the models' mean is 0.

    P(i beats j) = sigmoid(score_i - score_j); a gap of 1.0 means about 73% expected wins. ``ci_low``/
    ``ci_high`` are bootstrap 95% percentile bounds (resampling comparisons). ``n``/wins/ties/losses count the
    model's comparisons.
    """

    model: str
    score: float
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    n: int
    wins: int
    ties: int
    losses: int


def _fit_bt(wins: np.ndarray, games: np.ndarray, pi: np.ndarray, pj: np.ndarray, k: int, prior: float,
            max_iter: int = 200, tol: float = 1e-10) -> np.ndarray:
    """Penalized Bradley-Terry MLE by Newton's method, batched over replicates.

    ``wins``/``games`` are (B, P): for each unordered pair p = (pi[p], pj[p]) the wins of pi (ties as half) and
    the number of games. The penalty gives every model ``prior`` virtual wins and ``prior`` virtual losses
    against a fixed opponent of log-strength 0, which keeps undefeated or winless models finite. Returns
    (B, k) log-strengths centred to mean 0.
    """
    n_rep = wins.shape[0]
    theta = np.zeros((n_rep, k))
    incidence = np.zeros((pi.size, k))
    incidence[np.arange(pi.size), pi] = 1.0
    incidence[np.arange(pi.size), pj] = -1.0
    absinc = np.abs(incidence)
    diag = np.arange(k)
    centring = np.full((k, k), 1.0 / k) if prior == 0 else 0.0
    for _ in range(max_iter):
        pr = _sigmoid(theta[:, pi] - theta[:, pj])
        grad = (wins - games * pr) @ incidence
        ps = _sigmoid(theta)
        grad += prior * (1.0 - 2.0 * ps)
        v = games * pr * (1.0 - pr)
        info = np.zeros((n_rep, k, k))
        info[:, pi, pj] = -v
        info[:, pj, pi] = -v
        info[:, diag, diag] = v @ absinc + 2.0 * prior * ps * (1.0 - ps)
        info = info + centring
        step = np.linalg.solve(info, grad[..., None])[..., 0]
        biggest = np.abs(step).max(axis=1, keepdims=True)
        step = np.where(biggest > 2.0, step * (2.0 / np.maximum(biggest, 1e-300)), step)
        theta = theta + step
        if float(np.abs(step).max()) < tol:
            break
    return theta - theta.mean(axis=1, keepdims=True)


def bradley_terry(comparisons: Sequence[tuple[str, str, float]], *, n_boot: int = 1000, seed: int = 0,
                  prior: float = 0.5) -> list[BTScore]:
    """Bradley-Terry strengths from ``(model_i, model_j, outcome_for_i)`` comparisons, best first.

    Outcome 1 = i won, 0.5 = tie (half a win each way), 0 = j won. Strengths are the maximum-likelihood
    log-strengths with a small regularizing prior (each model gets ``prior`` virtual wins and losses against
    a reference opponent, so undefeated models stay finite), fitted by Newton's method. 95% CIs: percentile
    bootstrap over comparisons (``n_boot`` resamples, ``seed``), refitting each resample.
    """
    if prior < 0:
        raise ValueError("prior must be >= 0")
    rows = []
    for item in comparisons:
        if len(item) != 3:
            raise ValueError(f"each comparison must be (model_i, model_j, outcome_for_i), got {item!r}")
        mi, mj, o = str(item[0]), str(item[1]), float(item[2])
        if mi == mj:
            raise ValueError(f"a model can't be compared with itself: {mi!r}")
        if not 0.0 <= o <= 1.0:
            raise ValueError(f"outcome must be in [0, 1] (1 = first model wins), got {o}")
        rows.append((mi, mj, o))
    if not rows:
        return []
    models = sorted({m for r in rows for m in r[:2]})
    index = {m: i for i, m in enumerate(models)}
    k = len(models)
    # Canonical form: i < j, outcome for i. Aggregate identical (pair, outcome) rows into "types".
    canon = []
    for mi, mj, o in rows:
        i, j = index[mi], index[mj]
        canon.append((i, j, o) if i < j else (j, i, 1.0 - o))
    types, type_counts = np.unique(np.array(canon), axis=0, return_counts=True)
    t_i, t_j, t_o = types[:, 0].astype(int), types[:, 1].astype(int), types[:, 2]
    pair_keys, pair_of_type = np.unique(t_i * k + t_j, return_inverse=True)
    pi, pj = pair_keys // k, pair_keys % k
    n_pairs = pair_keys.size
    to_pair = np.zeros((t_i.size, n_pairs))
    to_pair[np.arange(t_i.size), pair_of_type] = 1.0

    def fit(counts: np.ndarray) -> np.ndarray:  # counts: (B, types)
        return _fit_bt((counts * t_o) @ to_pair, counts @ to_pair, pi, pj, k, prior)

    point = fit(type_counts[None, :].astype(float))[0]
    total = int(type_counts.sum())
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(total, type_counts / total, size=n_boot).astype(float)
        boots = np.concatenate([fit(draws[s:s + 250]) for s in range(0, n_boot, 250)])
        lows, highs = np.quantile(boots, [0.025, 0.975], axis=0)
        ci_method = f"bootstrap percentile over comparisons, {n_boot} resamples"
    else:
        lows = highs = [None] * k
        ci_method = "none"
    tally = {m: [0, 0, 0] for m in models}
    for mi, mj, o in rows:
        for m, res in ((mi, o), (mj, 1.0 - o)):
            tally[m][0 if res > 0.5 else (1 if res == 0.5 else 2)] += 1
    out = [BTScore(model=m, score=float(point[index[m]]), ci_low=fnum(lows[index[m]]), ci_high=fnum(highs[index[m]]),
                   ci_method=ci_method, n=sum(tally[m]), wins=tally[m][0], ties=tally[m][1], losses=tally[m][2])
           for m in models]
    return sorted(out, key=lambda s: (-s.score, s.model))


# ------------------------------------------------------------------------------------------ length bias


@dataclass(frozen=True)
class LengthControlled(Record):
    """Win rate of A with and without the effect of length.

    ``length_controlled_win_rate`` = sigmoid(intercept) of a logistic regression of the outcome on the
    standardized length difference: the expected win rate when both outputs have the same length.
    ``length_coef`` is the change in log-odds of A winning per ``length_sd`` (one standard deviation of
    len_A - len_B); None when the lengths never differ. ``longer_preferred_rate``: among non-tied verdicts with
    unequal lengths (``n_length_decided`` of them), the share won by the longer output.
    """

    n: int
    raw_win_rate: float | None
    length_controlled_win_rate: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    length_coef: float | None
    length_sd: float | None
    longer_preferred_rate: float | None
    n_length_decided: int


def _fit_logistic(y: np.ndarray, z: np.ndarray, counts: np.ndarray, ridge: float = 1e-6,
                  max_iter: int = 100, tol: float = 1e-10) -> np.ndarray:
    """Weighted logistic regression of fractional outcome y (m,) on [1, z], batched over count rows (B, m).

    Each verdict contributes y*log(mu) + (1-y)*log(1-mu), i.e. a tie is half a win row and half a loss row.
    Newton's method with a tiny ridge and step clipping. Returns (B, 2): intercept, slope.
    """
    beta = np.zeros((counts.shape[0], 2))
    z2 = z * z
    for _ in range(max_iter):
        mu = _sigmoid(beta[:, :1] + beta[:, 1:] * z[None, :])
        r = counts * (y[None, :] - mu)
        g0 = r.sum(axis=1) - ridge * beta[:, 0]
        g1 = r @ z - ridge * beta[:, 1]
        s = counts * mu * (1.0 - mu)
        h00 = s.sum(axis=1) + ridge
        h01 = s @ z
        h11 = s @ z2 + ridge
        det = h00 * h11 - h01 * h01
        step = np.stack([(h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det], axis=1)
        biggest = np.abs(step).max(axis=1, keepdims=True)
        step = np.where(biggest > 5.0, step * (5.0 / np.maximum(biggest, 1e-300)), step)
        beta = beta + step
        if float(np.abs(step).max()) < tol:
            break
    return beta


def length_controlled_win_rate(outcomes: Sequence[float], len_diff: Sequence[float], *, seed: int = 0,
                               n_boot: int = 1000) -> LengthControlled:
    """Win rate of A controlled for output length (``len_diff[i]`` = len_A - len_B on comparison i).

    Fits logit P(A wins) = b0 + b1 * len_diff / sd(len_diff) by Newton's method (ties = half a win row and
    half a loss row; tiny ridge) and reports sigmoid(b0), the win rate at equal length, with a percentile
    bootstrap 95% CI over comparisons (``n_boot``, ``seed``). Pairs with a missing outcome or length are dropped.
    """
    o_arr = to_float_array(outcomes, name="outcomes")
    l_arr = to_float_array(len_diff, name="len_diff")
    if o_arr.size != l_arr.size:
        raise ValueError(f"outcomes and len_diff must have equal lengths, got {o_arr.size} and {l_arr.size}")
    keep = ~(np.isnan(o_arr) | np.isnan(l_arr))
    y = _outcomes(o_arr[keep])
    ld = l_arr[keep]
    n = int(y.size)
    decided = (y != 0.5) & (ld != 0)
    n_dec = int(np.count_nonzero(decided))
    longer = float(np.mean((y[decided] == 1) == (ld[decided] > 0))) if n_dec else None
    if n == 0:
        return LengthControlled(n=0, raw_win_rate=None, length_controlled_win_rate=None, ci_low=None, ci_high=None,
                                ci_method="none (no outcomes)", length_coef=None, length_sd=None,
                                longer_preferred_rate=None, n_length_decided=0)
    sd = float(ld.std())
    z = ld / sd if sd > 0 else np.zeros_like(ld)
    beta = _fit_logistic(y, z, np.ones((1, n)))[0]
    lo = hi = None
    ci_method = "none"
    if n_boot > 0 and n >= 2:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, n, size=(n_boot, n))
        counts = np.bincount((idx + n * np.arange(n_boot)[:, None]).ravel(), minlength=n_boot * n)
        boots = _fit_logistic(y, z, counts.reshape(n_boot, n).astype(float))
        lo, hi = (float(v) for v in np.quantile(_sigmoid(boots[:, 0]), [0.025, 0.975]))
        ci_method = f"bootstrap percentile over comparisons, {n_boot} resamples"
    return LengthControlled(
        n=n, raw_win_rate=float(y.mean()), length_controlled_win_rate=float(_sigmoid(np.array(beta[0]))),
        ci_low=fnum(lo), ci_high=fnum(hi), ci_method=ci_method, length_coef=float(beta[1]) if sd > 0 else None,
        length_sd=sd if sd > 0 else None, longer_preferred_rate=fnum(longer), n_length_decided=n_dec,
    )


__all__ = ["BTScore", "LengthControlled", "WinRate", "bradley_terry", "length_controlled_win_rate", "win_rate"]
