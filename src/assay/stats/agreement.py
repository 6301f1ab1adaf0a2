"""Agreement between two raters (e.g. an LLM judge and a human, or two judges) on the same items."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from ._records import Record, fnum, plain

Kind = Literal["continuous", "ordinal", "nominal"]
_METRIC = {"continuous": "interval", "ordinal": "ordinal", "nominal": "nominal"}


@dataclass(frozen=True)
class Agreement(Record):
    """Agreement statistics over ``n`` paired labels; a statistic that doesn't apply or is undefined is None.

    ``pearson``/``spearman``/``kendall_tau_b``: continuous and ordinal only. ``cohen_kappa``: ordinal and
    nominal. ``weighted_kappa_quadratic``: ordinal only. ``krippendorff_alpha`` uses the metric in
    ``krippendorff_metric`` (interval for continuous, ordinal for ordinal, nominal for nominal).
    ``labels``/``confusion``: ordinal and nominal; ``confusion[i][j]`` counts items rater A labelled
    ``labels[i]`` and rater B labelled ``labels[j]``.
    """

    kind: str
    n: int
    pearson: float | None
    spearman: float | None
    kendall_tau_b: float | None
    exact_agreement: float | None
    cohen_kappa: float | None
    weighted_kappa_quadratic: float | None
    krippendorff_alpha: float | None
    krippendorff_metric: str
    labels: list[Any] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and math.isnan(v))


def _correlations(x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None, float | None]:
    if x.size < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return None, None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from scipy import stats as _st  # slow to import: only when correlations are asked for

        r = _st.pearsonr(x, y)[0]
        rho = _st.spearmanr(x, y)[0]
        tau = _st.kendalltau(x, y, variant="b")[0]
    return fnum(r), fnum(rho), fnum(tau)


def _label_plain(v: Any) -> Any:
    v = plain(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _kappa(conf: np.ndarray, weights: np.ndarray) -> float | None:
    """1 - sum(w * observed) / sum(w * expected), expected from the margins (Cohen; weights 0 on the diagonal)."""
    n = conf.sum()
    expected = np.outer(conf.sum(axis=1), conf.sum(axis=0)) / n
    denom = float((weights * expected).sum())
    if denom <= 0:
        return None
    return fnum(1.0 - float((weights * conf).sum()) / denom)


def _alpha_from_coincidence(coinc: np.ndarray, delta2: np.ndarray) -> float | None:
    n_c = coinc.sum(axis=1)
    total = n_c.sum()
    expected = float((np.outer(n_c, n_c) * delta2).sum())
    if expected <= 0:
        return None
    return fnum(1.0 - (total - 1) * float((coinc * delta2).sum()) / expected)


def _ordinal_delta2(n_c: np.ndarray) -> np.ndarray:
    """Krippendorff's ordinal metric: (sum of n_g for g from c to k, minus (n_c + n_k)/2) squared."""
    cum = np.concatenate([[0.0], np.cumsum(n_c)])
    k = n_c.size
    lo = np.minimum.outer(np.arange(k), np.arange(k))
    hi = np.maximum.outer(np.arange(k), np.arange(k))
    between = cum[hi + 1] - cum[lo]
    d = between - (n_c[:, None] + n_c[None, :]) / 2.0
    out: np.ndarray = d * d
    np.fill_diagonal(out, 0.0)
    return out


def agreement(a: Sequence[Any], b: Sequence[Any], *, kind: Kind = "continuous",
              labels: Sequence[Any] | None = None) -> Agreement:
    """Agreement of two raters' labels ``a[i]``, ``b[i]`` on item i.

    ``kind``: "continuous" (numbers), "ordinal" (ordered categories: numbers, or any labels when their order is
    given in ``labels``) or "nominal" (unordered categories). Pairs with a missing label (None/NaN) are dropped;
    n counts the rest. Ordinal labels are ordered numerically unless ``labels`` gives the order (required for
    non-numeric ordinal labels). For ordinal data the quadratic kappa weights and the correlations use the
    numeric label values when labels are numbers, otherwise their positions in the order.
    """
    if kind not in _METRIC:
        raise ValueError(f"kind must be 'continuous', 'ordinal' or 'nominal', got {kind!r}")
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise ValueError(f"paired labels must have equal lengths, got {len(a)} and {len(b)}")
    pairs = [(x, y) for x, y in zip(a, b) if not (_missing(x) or _missing(y))]
    n = len(pairs)
    metric = _METRIC[kind]
    empty = Agreement(kind=kind, n=n, pearson=None, spearman=None, kendall_tau_b=None, exact_agreement=None,
                      cohen_kappa=None, weighted_kappa_quadratic=None, krippendorff_alpha=None,
                      krippendorff_metric=metric)
    if n == 0:
        return empty
    if n == 1:  # one pair: it matches or not, but chance-corrected agreement and correlations are undefined
        return replace(empty, exact_agreement=float(plain(pairs[0][0]) == plain(pairs[0][1])))
    xa = [p[0] for p in pairs]
    xb = [p[1] for p in pairs]

    if kind == "continuous":
        try:
            x = np.asarray(xa, dtype=float)
            y = np.asarray(xb, dtype=float)
        except (TypeError, ValueError):
            raise ValueError("continuous agreement needs numeric labels") from None
        r, rho, tau = _correlations(x, y)
        pooled = np.concatenate([x, y])
        spread = float(((pooled - pooled.mean()) ** 2).sum())
        total = 2 * n
        alpha = None if spread <= 0 else fnum(1.0 - (total - 1) * float(((x - y) ** 2).sum()) / (total * spread))
        return Agreement(kind=kind, n=n, pearson=r, spearman=rho, kendall_tau_b=tau,
                         exact_agreement=float(np.mean(x == y)), cohen_kappa=None, weighted_kappa_quadratic=None,
                         krippendorff_alpha=alpha, krippendorff_metric=metric)

    observed = list(dict.fromkeys(plain(v) for v in xa + xb))
    if labels is not None:
        order = [plain(v) for v in labels]
        if len(set(order)) != len(order):
            raise ValueError("labels must be distinct")
        unknown = [v for v in observed if v not in order]
        if unknown:
            raise ValueError(f"labels not in the given label list: {unknown[:5]}")
    elif kind == "ordinal":
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in observed):
            raise ValueError("ordinal labels that aren't numbers need their order given in labels=")
        order = sorted(observed)
    else:
        try:
            order = sorted(observed)
        except TypeError:
            order = observed
    pos = {v: i for i, v in enumerate(order)}
    k = len(order)
    ia = np.array([pos[plain(v)] for v in xa])
    ib = np.array([pos[plain(v)] for v in xb])
    conf = np.zeros((k, k), dtype=np.int64)
    np.add.at(conf, (ia, ib), 1)

    nominal_w = 1.0 - np.eye(k)
    kappa = _kappa(conf.astype(float), nominal_w)
    coinc = (conf + conf.T).astype(float)
    r = rho = tau = wk = None
    if kind == "ordinal":
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in order)
        values = np.array(order, dtype=float) if numeric else np.arange(k, dtype=float)
        r, rho, tau = _correlations(values[ia], values[ib])
        span = values.max() - values.min() if k else 0.0
        if span > 0:
            wk = _kappa(conf.astype(float), (values[:, None] - values[None, :]) ** 2 / span ** 2)
        alpha = _alpha_from_coincidence(coinc, _ordinal_delta2(coinc.sum(axis=1)))
    else:
        alpha = _alpha_from_coincidence(coinc, nominal_w)
    return Agreement(kind=kind, n=n, pearson=r, spearman=rho, kendall_tau_b=tau,
                     exact_agreement=float(np.mean(ia == ib)), cohen_kappa=kappa, weighted_kappa_quadratic=wk,
                     krippendorff_alpha=alpha, krippendorff_metric=metric,
                     labels=[_label_plain(v) for v in order], confusion=conf.tolist())


__all__ = ["Agreement", "agreement"]
