"""The work items of a run, derived from its spec in one place: the progress totals and the engine's execution
both read them, so what is counted is what is done.

Per sample: one generation per candidate; per candidate output, one judgment per pointwise rubric, judge and
repeat; per pairwise rubric, its pairs of candidates (every pair, or each candidate against the baseline),
each judged by every judge and repeat in both orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from assay.config.models import ModelSpec
from assay.config.spec import EvalSpec
from assay.rubric import PairwiseOptions, Rubric

ORDERS = ("ab", "ba")  # "ab": model_a shown as response A; "ba": model_b shown as response A


@dataclass(frozen=True, slots=True)
class JudgmentItem:
    """One verdict on one candidate's output (of any sample)."""
    rubric: Rubric
    judge: ModelSpec
    repeat: int


@dataclass(frozen=True, slots=True)
class PairItem:
    """One pairwise verdict on a sample: model_a and model_b shown in `order`."""
    rubric: Rubric
    options: PairwiseOptions
    judge: ModelSpec
    repeat: int
    model_a: str
    model_b: str
    order: str


@dataclass(frozen=True, slots=True)
class Totals:
    outputs: int
    judgments: int
    pairs: int


def candidate_pairs(labels: list[str], baseline: str | None) -> list[tuple[str, str]]:
    """The pairs a pairwise rubric compares, as (model_a, model_b). Without a baseline every pair in spec order;
    with one, each other candidate against it, the candidate as model_a (its win rate is the one reported)."""
    if baseline is None:
        return list(combinations(labels, 2))
    return [(c, baseline) for c in labels if c != baseline]


class WorkPlan:
    def __init__(self, spec: EvalSpec) -> None:
        self.candidates = [c.label for c in spec.candidates]
        repeats = range(spec.settings.judge_samples)
        self.judgment_items = [JudgmentItem(r, j, k) for r in spec.rubrics if not r.pairwise
                               for j in spec.judges for k in repeats]
        self.pair_items: list[PairItem] = []
        for rubric in (r for r in spec.rubrics if r.pairwise):
            options = spec.pairwise_options(rubric)
            for a, b in candidate_pairs(self.candidates, options.baseline):
                self.pair_items += [PairItem(rubric, options, j, k, a, b, order)
                                    for j in spec.judges for k in repeats for order in ORDERS]

    def totals(self, n_samples: int) -> Totals:
        n_cand = len(self.candidates)
        return Totals(outputs=n_samples * n_cand, judgments=n_samples * n_cand * len(self.judgment_items),
                      pairs=n_samples * len(self.pair_items))
