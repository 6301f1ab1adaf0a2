"""Rank several models on one rubric, reporting as ties the models the data can't tell apart.

The rule (also in docs/statistics.md):

1. Order the models by mean score, best first (equal means: by name).
2. Compare every pair: paired test on the samples scored for both (default), or Welch's t-test when
   ``paired=False``. Adjust all the pairwise p-values together with Holm's method.
3. Walk down the order. The first model leads group 1. Each next model joins the current group when it is
   not significantly different from the group's *leader* (significant = Holm-adjusted p < alpha and the 95%
   CI of the difference excludes zero); otherwise it leads a new group.
4. Every model of a group gets the rank of its leader, i.e. 1 + the number of models in earlier groups
   ("1, 1, 3" competition ranking). ``tied_with`` lists the other members of the group.

Comparing with the leader (not with the previous model) stops chains of small steps from tying the best and
the worst model together. Models with no scores at all are listed in ``unranked``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._dist import t_ppf, t_sf
from ._records import Record, fnum, to_float_array
from .multiple import holm
from .paired import PairedComparison, paired_difference

RANKING_RULE = (
    "models sorted by mean (best first); each model shares the rank of the current group's leader unless it "
    "is significantly different from that leader (Holm-adjusted p < alpha and 95% CI excluding zero), "
    "in which case it starts a new group ranked 1 + the number of models above it"
)


@dataclass(frozen=True)
class RankComparison(Record):
    """One pairwise comparison inside a ranking; ``model_a`` is the one with the higher (or equal) mean and
    ``mean_diff`` is A minus B. ``comparison`` holds the full paired result (None for unpaired rankings)."""

    model_a: str
    model_b: str
    n: int
    mean_diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_adjusted: float | None
    significant: bool
    test: str
    comparison: PairedComparison | None = None


@dataclass(frozen=True)
class RankedModel(Record):
    """A model's place: ``rank`` is shared by models that can't be told apart, listed in ``tied_with``."""

    model: str
    mean: float
    n: int
    rank: int
    tied_with: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Ranking(Record):
    ranks: list[RankedModel]
    comparisons: list[RankComparison]
    alpha: float
    paired: bool
    rule: str = RANKING_RULE
    unranked: list[str] = field(default_factory=list)


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float | None, float | None, float | None, float | None, str]:
    """(mean_diff, ci_low, ci_high, p, test name) for an unpaired Welch comparison of a - b."""
    name = "Welch's t-test (unpaired)"
    if a.size == 0 or b.size == 0:
        return None, None, None, None, name
    diff = float(a.mean() - b.mean())
    if a.size < 2 or b.size < 2:
        return diff, None, None, None, name
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se2 = va + vb
    if se2 == 0:
        p = 1.0 if diff == 0 else 0.0
        return diff, diff, diff, p, name
    df = se2 ** 2 / ((va ** 2 / (a.size - 1)) + (vb ** 2 / (b.size - 1)))
    half = float(t_ppf(0.975, df) * np.sqrt(se2))
    p = float(2 * t_sf(abs(diff) / np.sqrt(se2), df))
    return diff, diff - half, diff + half, p, name


def rank_models(scores_by_model: Mapping[str, Sequence[float | None]], *, paired: bool = True,
                alpha: float = 0.05, seed: int = 0, n_boot: int = 10000) -> Ranking:
    """Rank models by mean score with Holm-adjusted pairwise tests; indistinguishable models share a rank.

    ``scores_by_model`` maps model name -> scores. With ``paired=True`` (default) the sequences are aligned by
    sample (equal lengths; None/NaN marks a missing score) and each pair is compared with
    :func:`paired_difference` on the samples both models have. With ``paired=False`` lengths may differ and each
    pair is compared with Welch's t-test. See the module docstring for the tie rule.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    arrays = {str(m): to_float_array(v, name=f"scores of {m}") for m, v in scores_by_model.items()}
    if paired and len({a.size for a in arrays.values()}) > 1:
        sizes = {m: a.size for m, a in arrays.items()}
        raise ValueError(f"paired ranking needs aligned, equal-length score arrays; got lengths {sizes}")
    unranked = sorted(m for m, a in arrays.items() if not np.any(~np.isnan(a)))
    means = {m: float(np.nanmean(a)) for m, a in arrays.items() if m not in unranked}
    order = sorted(means, key=lambda m: (-means[m], m))

    pairs: list[tuple[str, str]] = [(order[i], order[j]) for i in range(len(order)) for j in range(i + 1, len(order))]
    raw: list[dict[str, Any]] = []
    for ma, mb in pairs:
        xa, xb = arrays[ma], arrays[mb]
        if paired:
            cmp = paired_difference(xa, xb, seed=seed, n_boot=n_boot)
            raw.append({"model_a": ma, "model_b": mb, "n": cmp.n, "mean_diff": cmp.mean_diff, "ci_low": cmp.ci_low,
                        "ci_high": cmp.ci_high, "p_value": cmp.p_value, "test": cmp.test, "comparison": cmp})
        else:
            a, b = xa[~np.isnan(xa)], xb[~np.isnan(xb)]
            diff, lo, hi, p, test = _welch(a, b)
            raw.append({"model_a": ma, "model_b": mb, "n": int(a.size + b.size), "mean_diff": fnum(diff),
                        "ci_low": fnum(lo), "ci_high": fnum(hi), "p_value": fnum(p), "test": test, "comparison": None})
    tested = [i for i, r in enumerate(raw) if r["p_value"] is not None]
    adjusted = holm([raw[i]["p_value"] for i in tested])
    adj_by_index = dict(zip(tested, adjusted))
    comparisons: list[RankComparison] = []
    for i, r in enumerate(raw):
        p_adj = adj_by_index.get(i)
        lo, hi, diff = r["ci_low"], r["ci_high"], r["mean_diff"]
        sig = (p_adj is not None and p_adj < alpha and lo is not None and hi is not None
               and diff is not None and diff != 0 and (lo > 0 or hi < 0))
        comparisons.append(RankComparison(p_adjusted=fnum(p_adj), significant=bool(sig), **r))
    by_pair = {(c.model_a, c.model_b): c.significant for c in comparisons}
    counts = {m: int(np.count_nonzero(~np.isnan(arrays[m]))) for m in order}
    ranks = group_ranks(means, counts, lambda a, b: by_pair[(a, b)])
    return Ranking(ranks=ranks, comparisons=comparisons, alpha=float(alpha), paired=bool(paired),
                   unranked=unranked)


def group_ranks(means: Mapping[str, float], counts: Mapping[str, int],
                significant: Callable[[str, str], bool]) -> list[RankedModel]:
    """Apply the tie rule (module docstring) given each model's mean and a significance verdict per pair.

    ``significant(a, b)`` is asked only with ``a`` ranked above ``b``. Callers that adjust p-values over a wider
    family (several rubrics at once) pass their own verdicts, so ranking and sentences never disagree.
    """
    order = sorted(means, key=lambda m: (-means[m], m))
    groups: list[list[str]] = []
    for m in order:
        if groups and not significant(groups[-1][0], m):
            groups[-1].append(m)
        else:
            groups.append([m])
    ranks: list[RankedModel] = []
    placed = 0
    for g in groups:
        for m in g:
            ranks.append(RankedModel(model=m, mean=means[m], n=counts[m], rank=placed + 1,
                                     tied_with=[o for o in g if o != m]))
        placed += len(g)
    return ranks


__all__ = ["RANKING_RULE", "RankComparison", "RankedModel", "Ranking", "group_ranks", "rank_models"]
