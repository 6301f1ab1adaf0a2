"""Statistics of pairwise (A-versus-B) judging: win rates, Bradley-Terry strengths, length bias.

An outcome is model A's result on one comparison, anywhere in [0, 1]: 1 = A better, 0.5 = tie, 0 = B better,
and anything between for a comparison whose verdicts were averaged (the two orders, repeats, a jury) or graded
or weighted by the judge. An outcome above 0.5 counts as a win, exactly 0.5 as a tie, below as a loss; every
rate here is the mean outcome.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._dist import norm_ppf
from ._records import Record, fnum, to_float_array

_Z95 = float(norm_ppf(0.975))
# Outcomes are means of a few verdicts or probabilities: within this of 0.5 is a tie, not a win by rounding.
_TIE_TOL = 1e-9


def _outcomes(outcomes: Sequence[float | None], *, name: str = "outcomes") -> np.ndarray:
    arr = to_float_array(outcomes, name=name)
    arr = arr[~np.isnan(arr)]
    bad = (arr < -_TIE_TOL) | (arr > 1 + _TIE_TOL)
    if bad.any():
        raise ValueError(f"{name} must be in [0, 1] (1 = A better, 0.5 = tie, 0 = B better); got {arr[bad][0]}")
    clipped: np.ndarray = np.clip(arr, 0.0, 1.0)
    return clipped


def tally(outcomes: np.ndarray) -> tuple[int, int, int]:
    """(wins, ties, losses) of A: an outcome above 0.5 is a win, 0.5 a tie, below 0.5 a loss."""
    wins = int(np.count_nonzero(outcomes > 0.5 + _TIE_TOL))
    losses = int(np.count_nonzero(outcomes < 0.5 - _TIE_TOL))
    return wins, int(outcomes.size) - wins - losses, losses


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# ----------------------------------------------------------------------------------------------- win rate


@dataclass(frozen=True)
class WinRate(Record):
    """A's mean outcome (its win rate, ties as half); 95% CI by ``ci_method``; None when n = 0. ``wins``,
    ``ties`` and ``losses`` count outcomes above, at and below 0.5."""

    n: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    wins: int
    ties: int
    losses: int


SCORE_METHOD = "Wilson score interval on the effective n (the outcomes' own variance)"


def _wilson(p: float, n: float, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``p`` observed on ``n`` (possibly fractional) Bernoulli trials."""
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0))
    lo = 0.0 if p <= 0 else max(0.0, centre - half)
    hi = 1.0 if p >= 1 else min(1.0, centre + half)
    return lo, hi


def score_interval(x: np.ndarray, z: float = _Z95) -> tuple[float, float]:
    """Wilson's interval with n replaced by the effective n = n / phi, phi = var(x) / (p (1 - p)).

    A 0/1 outcome has variance p(1 - p), the most any outcome in [0, 1] with mean p can have; ties and partial
    outcomes have less, which Wilson on n trials ignores (with 80% ties it is over twice too wide). phi is
    shrunk towards 1 by one pseudo-outcome of full variance, so outcomes that are all equal (all ties) still
    get an interval of non-zero width. With 0/1 outcomes phi = 1: the plain Wilson interval.
    """
    n = x.size
    p = float(x.mean())
    full = p * (1.0 - p)
    phi = 1.0 if full <= 0 else (n * float(x.var()) + full) / ((n + 1) * full)
    return _wilson(p, n / phi, z)


def win_rate(outcomes: Sequence[float | None], *, seed: int = 0, method: str = "score",
             n_boot: int = 10000) -> WinRate:
    """A's win rate over B (its mean outcome) with a 95% CI. Missing outcomes (None/NaN) are dropped.

    ``method="score"`` (default): Wilson's score interval on the effective number of comparisons, which uses
    the outcomes' own variance (see :func:`score_interval`; coverage checked by simulation in
    docs/statistics.md). ``method="bootstrap"``: percentile bootstrap of the mean outcome (``seed``,
    ``n_boot``), degenerate when all outcomes are equal.
    """
    x = _outcomes(outcomes)
    n = int(x.size)
    wins, ties, losses = tally(x)
    if method not in ("score", "bootstrap"):
        raise ValueError(f"method must be 'score' or 'bootstrap', got {method!r}")
    if n == 0:
        return WinRate(n=0, rate=None, ci_low=None, ci_high=None, ci_method="none (no outcomes)",
                       wins=0, ties=0, losses=0)
    rate = float(x.mean())
    if method == "score":
        lo, hi = score_interval(x)
        ci_method = SCORE_METHOD
    else:
        from ._resample import bootstrap_means

        boots = bootstrap_means(x, n_boot, np.random.default_rng(seed))
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
    centred: np.ndarray = theta - theta.mean(axis=1, keepdims=True)
    return centred


def bradley_terry(comparisons: Sequence[tuple[str, str, float]], *, n_boot: int = 1000, seed: int = 0,
                  prior: float = 0.5) -> list[BTScore]:
    """Bradley-Terry strengths from ``(model_i, model_j, outcome_for_i)`` comparisons, best first.

    Outcome 1 = i won, 0.5 = tie (half a win each way), 0 = j won, anything between a partial win. Strengths
    are the maximum-likelihood log-strengths with a small regularizing prior (each model gets ``prior`` virtual
    wins and losses against a reference opponent, so undefeated models stay finite), fitted by Newton's method.
    95% CIs: percentile bootstrap over comparisons (``n_boot`` resamples, ``seed``), refitting each resample.
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
    results: dict[str, list[float]] = {m: [] for m in models}
    for mi, mj, o in rows:
        results[mi].append(o)
        results[mj].append(1.0 - o)
    counts = {m: tally(np.array(v)) for m, v in results.items()}
    out = [BTScore(model=m, score=float(point[index[m]]), ci_low=fnum(lows[index[m]]), ci_high=fnum(highs[index[m]]),
                   ci_method=ci_method, n=len(results[m]), wins=counts[m][0], ties=counts[m][1],
                   losses=counts[m][2])
           for m in models]
    return sorted(out, key=lambda s: (-s.score, s.model))


# ------------------------------------------------------------------------------------------ length bias


@dataclass(frozen=True)
class LengthControlled(Record):
    """Win rate of A with and without the effect of length, by the length-controlled GLM of AlpacaEval 2.

    The model (see :func:`length_controlled_win_rate`): logit P(A preferred on instruction x) = ``model_coef`` +
    ``length_coef`` * tanh(len_diff_x / ``length_sd``) + u_x. ``length_controlled_win_rate`` is the mean over
    instructions of sigmoid(model_coef + u_x): the predicted win rate with the length term set to zero.
    ``length_coef`` is None when the lengths never differ. ``longer_preferred_rate``: among decided comparisons
    (not ties) with unequal lengths (``n_length_decided`` of them), the share won by the longer output.
    """

    n: int
    raw_win_rate: float | None
    length_controlled_win_rate: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    model_coef: float | None
    length_coef: float | None
    length_sd: float | None
    instruction_prior_sd: float
    longer_preferred_rate: float | None
    n_length_decided: int
    method: str


LC_METHOD = ("AlpacaEval 2 length-controlled GLM: logistic regression of the outcome on a model term, "
             "tanh(length difference / its sd) (Gaussian prior, sd 2.5) and a per-instruction term (Gaussian "
             "prior, sd {sd:g}); "
             "controlled rate = mean predicted win rate with the length term set to zero")
_FIXED_RIDGE = 1e-6  # keeps the model term finite when A wins (or loses) every comparison
# A weakly informative prior on the length term (sd 2.5 on the log-odds scale, as Gelman et al. 2008 advise for
# logistic coefficients of a standardized input): on a few samples where the judge's choice follows length
# exactly, the unpenalized fit would drive the length and model terms to infinity together.
LENGTH_PRIOR_SD = 2.5
_LENGTH_PENALTY = 1.0 / LENGTH_PRIOR_SD ** 2


def _fit_glm(y: np.ndarray, feature: np.ndarray, counts: np.ndarray, penalty: float,
             max_iter: int = 100, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Penalized logistic fit of fractional outcomes ``y`` (m,) batched over count rows ``counts`` (B, m).

    logit mu_x = theta_0 + theta_1 * feature_x + u_x; each comparison contributes counts_x * [y log mu +
    (1 - y) log(1 - mu)] (a tie is half a win and half a loss), each u_x a penalty ``penalty`` * u_x^2 / 2, the
    length term theta_1 the penalty of its prior (``LENGTH_PRIOR_SD``).
    Newton's method; the u block of the Hessian is diagonal, so each step solves a 2x2 system (Schur
    complement). The problem is strictly convex. Returns theta (B, 2) and u (B, m).
    """
    n_rep, m = counts.shape
    f, f2 = feature, feature * feature
    theta = np.zeros((n_rep, 2))
    u = np.zeros((n_rep, m))
    for _ in range(max_iter):
        mu = _sigmoid(theta[:, :1] + theta[:, 1:] * f + u)
        resid = counts * (y - mu)
        weight = counts * mu * (1.0 - mu)
        g_u = resid - penalty * u
        d = weight + penalty
        # Schur complement of the diagonal u block: the 2x2 system in theta, written out.
        shrink = weight - weight * weight / d  # w - w^2 / d, per comparison
        a00 = shrink.sum(axis=1) + _FIXED_RIDGE
        a01 = shrink @ f
        a11 = shrink @ f2 + _LENGTH_PENALTY
        carried = weight * g_u / d
        r0 = resid.sum(axis=1) - _FIXED_RIDGE * theta[:, 0] - carried.sum(axis=1)
        r1 = resid @ f - _LENGTH_PENALTY * theta[:, 1] - carried @ f
        det = a00 * a11 - a01 * a01
        step_theta = np.stack([(a11 * r0 - a01 * r1) / det, (a00 * r1 - a01 * r0) / det], axis=1)
        step_u = (g_u - weight * (step_theta[:, :1] + step_theta[:, 1:] * f)) / d
        biggest = np.maximum(np.abs(step_theta).max(axis=1), np.abs(step_u).max(axis=1))[:, None]
        scale = np.where(biggest > 5.0, 5.0 / np.maximum(biggest, 1e-300), 1.0)
        theta = theta + step_theta * scale
        u = u + step_u * scale
        if float(biggest.max()) < tol:
            break
    return theta, u


def _controlled(theta: np.ndarray, u: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean over instructions (weighted by counts) of the predicted win rate with the length term at zero."""
    rates: np.ndarray = (counts * _sigmoid(theta[:, :1] + u)).sum(axis=1) / counts.sum(axis=1)
    return rates


def length_controlled_win_rate(outcomes: Sequence[float], len_diff: Sequence[float], *, seed: int = 0,
                               n_boot: int = 1000, instruction_prior_sd: float = 1.0) -> LengthControlled:
    """A's win rate controlled for output length, as AlpacaEval 2 defines it (``len_diff[i]`` = len_A - len_B).

    Each comparison i is one instruction. The fit: logit P(A preferred on i) = model_coef + length_coef *
    tanh(len_diff_i / sd(len_diff)) + u_i, the outcome used as a soft label (ties: half a win, half a loss),
    u_i the instruction's own term with a Gaussian prior of sd ``instruction_prior_sd`` on the log-odds scale
    (a ridge penalty), the length term a weak one (sd ``LENGTH_PRIOR_SD``), the model term none. The controlled
    win rate is the mean over instructions of sigmoid(model_coef + u_i): the length term set to zero. With no
    length differences it equals the raw rate. 95% CI: percentile bootstrap over comparisons (``n_boot``,
    ``seed``), refitting each resample. Comparisons with a missing outcome or length are dropped.
    """
    if instruction_prior_sd <= 0:
        raise ValueError("instruction_prior_sd must be > 0")
    o_arr = to_float_array(outcomes, name="outcomes")
    l_arr = to_float_array(len_diff, name="len_diff")
    if o_arr.size != l_arr.size:
        raise ValueError(f"outcomes and len_diff must have equal lengths, got {o_arr.size} and {l_arr.size}")
    keep = ~(np.isnan(o_arr) | np.isnan(l_arr))
    y = _outcomes(o_arr[keep])
    ld = l_arr[keep]
    n = int(y.size)
    method = LC_METHOD.format(sd=instruction_prior_sd)
    decided = (np.abs(y - 0.5) > _TIE_TOL) & (ld != 0)
    n_dec = int(np.count_nonzero(decided))
    longer = float(np.mean((y[decided] > 0.5) == (ld[decided] > 0))) if n_dec else None
    if n == 0:
        return LengthControlled(n=0, raw_win_rate=None, length_controlled_win_rate=None, ci_low=None, ci_high=None,
                                ci_method="none (no outcomes)", model_coef=None, length_coef=None, length_sd=None,
                                instruction_prior_sd=instruction_prior_sd, longer_preferred_rate=None,
                                n_length_decided=0, method=method)
    sd = float(ld.std())
    feature = np.tanh(ld / sd) if sd > 0 else np.zeros_like(ld)
    penalty = 1.0 / instruction_prior_sd ** 2
    ones = np.ones((1, n))
    theta, u = _fit_glm(y, feature, ones, penalty)
    point = float(_controlled(theta, u, ones)[0])
    lo = hi = None
    ci_method = "none"
    if n_boot > 0 and n >= 2:
        rng = np.random.default_rng(seed)
        boots = np.empty(n_boot)
        rows = max(1, 1_000_000 // n)  # replicates per batch: bounds memory for large n
        for start in range(0, n_boot, rows):
            b = min(n_boot, start + rows) - start
            idx = rng.integers(0, n, size=(b, n))
            counts = np.bincount((idx + n * np.arange(b)[:, None]).ravel(), minlength=b * n)
            counts = counts.reshape(b, n).astype(float)
            t_b, u_b = _fit_glm(y, feature, counts, penalty)
            boots[start:start + b] = _controlled(t_b, u_b, counts)
        lo, hi = (float(v) for v in np.quantile(boots, [0.025, 0.975]))
        ci_method = f"bootstrap percentile over comparisons, {n_boot} resamples"
    return LengthControlled(
        n=n, raw_win_rate=float(y.mean()), length_controlled_win_rate=point, ci_low=fnum(lo), ci_high=fnum(hi),
        ci_method=ci_method, model_coef=fnum(theta[0, 0]), length_coef=fnum(theta[0, 1]) if sd > 0 else None,
        length_sd=sd if sd > 0 else None, instruction_prior_sd=instruction_prior_sd,
        longer_preferred_rate=fnum(longer), n_length_decided=n_dec, method=method,
    )


__all__ = ["BTScore", "LengthControlled", "WinRate", "bradley_terry", "length_controlled_win_rate", "score_interval",
           "tally", "win_rate"]
