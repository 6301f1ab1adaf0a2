"""How several verdicts become one: the single home of the rules that results, compare and calibrate share.

Pointwise: an output judged several times (repeats, the judges of a jury) gets one score by the run's
`settings.aggregate` rule, each judge's repeats first, then the judges. Pairwise: a pair of outputs gets one
outcome, model_a's result in [0, 1], the mean over its orders, repeats and judges (each judge's repeats first,
so every judge weighs the same). Only a judge's repeat seen in both orders counts, so the outcome is position-
controlled.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import median
from typing import Any

import numpy as np

AGGREGATE_RULES = {
    "mean": "the mean",
    "median": "the median",
    "majority": "the most common value (the median when several are equally common)",
}
PAIR_RULE = ("a pair's outcome (model A's result: 1 better, 0.5 tie, 0 worse, or between) is the mean over its "
             "two orders, repeats and judges; above 0.5 it counts as a win, at 0.5 a tie, below a loss; a win "
             "rate is the mean outcome")


def combine(values: list[float], rule: str) -> float:
    """Several verdicts on one output (repeats, or the judges of a jury) → one, by the run's rule."""
    if rule == "median":
        return float(median(values))
    if rule == "majority":
        counts = Counter(values).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            return float(median(values))
        return float(counts[0][0])
    return float(np.mean(values))


def output_verdict(by_judge: Mapping[str, list[float]], judges: Iterable[str], rule: str) -> float:
    """One output's verdict: each judge's repeats combined, then the judges, by the run's rule."""
    return combine([combine(list(by_judge[j]), rule) for j in judges], rule)


def paired_verdicts(a: dict[str, dict[str, list[float]]], b: dict[str, dict[str, list[float]]],
                    rule: str) -> tuple[list[float], list[float]]:
    """Two outputs' verdicts per shared sample, each combined over the judges that scored *both*.

    With a jury whose judges sometimes fail, pairing on each side's own surviving judges would turn the
    jury's make-up into a difference between models; only judges common to both sides count."""
    xa, xb = [], []
    for sample in sorted(set(a) & set(b)):
        judges = sorted(set(a[sample]) & set(b[sample]))
        if judges:
            xa.append(output_verdict(a[sample], judges, rule))
            xb.append(output_verdict(b[sample], judges, rule))
    return xa, xb


# ------------------------------------------------------------------------------------------------ pairwise


def verdict_outcome(row: Mapping[str, Any]) -> float | None:
    """One stored pairwise verdict as model_a's result in [0, 1]: its `outcome` when recorded (graded or
    weighted verdicts), else read from `winner` (1 model_a, 0.5 tie, 0 model_b); None when it has neither."""
    value = row.get("outcome")
    if value is not None:
        return float(value)
    return {row["model_a"]: 1.0, row["model_b"]: 0.0, "tie": 0.5}.get(row.get("winner") or "")


@dataclass(frozen=True)
class PairUnit:
    """One judge's verdicts on one pair of outputs (one sample, one repeat) in both orders, as model_a's result:
    ``ab`` when model_a was shown first, ``ba`` when model_b was."""

    sample_id: str
    model_a: str
    model_b: str
    judge: str
    repeat: int
    ab: float
    ba: float

    @property
    def outcome(self) -> float:
        return (self.ab + self.ba) / 2


def pair_units(rows: Iterable[Mapping[str, Any]]) -> list[PairUnit]:
    """The done verdicts of one rubric gathered into units seen in both orders (a unit missing an order, its
    other verdict failed or not yet judged, is left out: it would carry the judge's position bias)."""
    orders: dict[tuple[str, str, str, str, int], dict[str, float]] = defaultdict(dict)
    for r in rows:
        if r["status"] != "done":
            continue
        value = verdict_outcome(r)
        if value is not None:
            orders[(r["sample_id"], r["model_a"], r["model_b"], r["judge"], r["repeat"])][r["order"]] = value
    return [PairUnit(s, a, b, j, rep, both["ab"], both["ba"])
            for (s, a, b, j, rep), both in sorted(orders.items()) if len(both) == 2]


def pair_outcome(units: Iterable[PairUnit]) -> float:
    """The outcome of one pair of outputs from its units: each judge's repeats averaged, then the judges."""
    by_judge: dict[str, list[float]] = defaultdict(list)
    for u in units:
        by_judge[u.judge].append(u.outcome)
    return float(np.mean([np.mean(v) for v in by_judge.values()]))


def pair_outcomes(units: Iterable[PairUnit]) -> dict[tuple[str, str], dict[str, float]]:
    """(model_a, model_b) → sample → that pair's outcome on that sample (only pairs and samples judged)."""
    grouped: dict[tuple[str, str], dict[str, list[PairUnit]]] = defaultdict(lambda: defaultdict(list))
    for u in units:
        grouped[(u.model_a, u.model_b)][u.sample_id].append(u)
    return {pair: {s: pair_outcome(us) for s, us in sorted(by_sample.items())}
            for pair, by_sample in grouped.items()}


__all__ = ["AGGREGATE_RULES", "PAIR_RULE", "PairUnit", "combine", "output_verdict", "pair_outcome", "pair_outcomes",
           "pair_units", "paired_verdicts", "verdict_outcome"]
