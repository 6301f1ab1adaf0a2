"""The results of a run and the comparison of two runs as typed, immutable records.

`report.results` and `report.compare` build these; `to_dict()` gives the JSON that `--json`, the Python API and
the CLI tables read (`RESULTS_SCHEMA_VERSION` in it). Statistics records from `assay.stats` appear inside as
they are; where the JSON has always shown a statistic's fields next to the entry's own (a comparison, a pair),
the record keeps the statistic whole and `to_dict()` flattens it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assay.stats import BTScore, LengthControlled, PairedComparison, RankedModel, WinRate
from assay.stats._records import Record


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


# ------------------------------------------------------------------------------------------ one run: scores


@dataclass(frozen=True)
class ModelScores(Record):
    """One candidate on one pointwise rubric: its combined scores described, and its failed judgments."""

    model: str
    n_scored: int
    n_failed: int
    n_failed_no_output: int
    failed_share: float
    flagged: bool
    mean: float | None
    median: float | None
    sd: float | None
    min: float | None
    max: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    histogram: dict[Any, int]


@dataclass(frozen=True)
class RepeatSpread(Record):
    """One judge's repeated scores of the same outputs: how far apart they are."""

    n_outputs: int
    mean_sd: float
    share_disagreeing: float


@dataclass(frozen=True)
class JuryAgreement(Record):
    """Two judges of a jury on the outputs both scored."""

    judge_a: str
    judge_b: str
    n: int
    kind: str
    exact_agreement: float | None
    spearman: float | None
    krippendorff_alpha: float | None


@dataclass(frozen=True)
class Reliability(Record):
    repeats: dict[str, RepeatSpread]
    jury: list[JuryAgreement]


@dataclass(frozen=True)
class RubricResult(Record):
    """A pointwise rubric: every candidate's scores, the judges' reliability, the ranking."""

    rubric: str
    kind: str
    scale: list[float]
    versions: list[str]
    models: list[ModelScores]
    reliability: Reliability
    ranking: list[RankedModel]


@dataclass(frozen=True)
class Comparison(Record):
    """Two candidates of a run on one pointwise rubric. ``stats`` is None when they share too few samples; then
    the JSON has no statistics, no adjusted p and no adjustment."""

    rubric: str
    model_a: str
    model_b: str
    n_paired: int
    significant: bool
    sentence: str
    stats: PairedComparison | None = None
    p_value_adjusted: float | None = None
    adjustment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rubric": self.rubric, "model_a": self.model_a, "model_b": self.model_b,
                               "n_paired": self.n_paired}
        if self.p_value_adjusted is not None:
            out["p_value_adjusted"] = self.p_value_adjusted
        if self.stats is not None:
            out.update(self.stats.to_dict())
            out["adjustment"] = self.adjustment
        out["significant"] = self.significant
        out["sentence"] = self.sentence
        return out


@dataclass(frozen=True)
class TradeoffCell(Record):
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    best: bool


@dataclass(frozen=True)
class Tradeoffs(Record):
    """Model × rubric means with CIs; ``best`` marks each rubric's top rank group."""

    rubrics: list[str]
    models: dict[str, dict[str, TradeoffCell]]


# ---------------------------------------------------------------------------------------- one run: pairwise


@dataclass(frozen=True)
class PositionBias(Record):
    """A judge's position bias over the pairs it judged in both orders (see `report.results._position`)."""

    n_pairs: int
    inconsistent_share: float
    n_verdicts: int
    first_position_win_rate: float
    first_position_wins: float
    second_position_wins: float


@dataclass(frozen=True)
class RepeatDisagreement(Record):
    n_pairs: int
    share_disagreeing: float


@dataclass(frozen=True)
class PairResult(Record):
    """One pair of candidates on a pairwise rubric: the win rate of model_a (its fields flattened into the
    JSON), the length-controlled win rate when there are two comparisons or more, one sentence."""

    model_a: str
    model_b: str
    win: WinRate
    sentence: str
    length: LengthControlled | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model_a": self.model_a, "model_b": self.model_b, **self.win.to_dict()}
        if self.length is not None:
            out["length"] = self.length.to_dict()
        out["sentence"] = self.sentence
        return out


@dataclass(frozen=True)
class PairwiseResult(Record):
    rubric: str
    kind: str
    versions: list[str]
    n_failed: int             # verdicts not given, whatever the cause
    n_failed_no_output: int   # ... of which: a candidate of the pair produced no output (status skipped)
    position_consistency: dict[str, PositionBias]
    repeat_disagreement: dict[str, RepeatDisagreement]
    pairs: list[PairResult]
    bradley_terry: list[BTScore]


# -------------------------------------------------------------------------------------------- one run: all


@dataclass(frozen=True)
class RunSummary(Record):
    id: str
    name: str
    status: str
    created_at: str
    dataset: dict[str, Any]
    candidates: list[str]
    judges: list[str]
    judge: str
    judge_model: str
    judge_identities: dict[str, str]
    judge_samples: int
    aggregate: str


@dataclass(frozen=True)
class Methods(Record):
    """The rules behind the numbers, in words."""

    aggregate: str
    comparisons: str
    ranking: str
    pairwise: str


@dataclass(frozen=True)
class RunResults(Record):
    """Everything `assay results` shows. ``counts``, ``failures`` and ``usage`` are the store's tallies."""

    schema_version: int
    run: RunSummary
    counts: dict[str, dict[str, int]]
    failures: dict[str, list[dict[str, Any]]]
    usage: dict[str, Any]
    rubrics: list[RubricResult]
    comparisons: list[Comparison]
    tradeoffs: Tradeoffs
    pairwise: list[PairwiseResult]
    methods: Methods


# ---------------------------------------------------------------------------------------------- two runs


@dataclass(frozen=True)
class RunRef(Record):
    id: str
    name: str
    dataset: dict[str, Any]


@dataclass(frozen=True)
class ModelChange(Record):
    """What a followed candidate was in each run, so a changed model under a kept label is visible."""

    before: str
    after: str
    before_model: str
    after_model: str
    changed: bool


@dataclass(frozen=True)
class RunComparison(Record):
    """One candidate on one rubric, after against before. ``stats`` is paired_difference(after, before); the
    JSON names its sides for what they are (mean_after, mean_before, better_after, same, worse_after)."""

    rubric: str
    before: str
    after: str
    n_shared: int
    failed_before: int
    failed_after: int
    significant: bool
    sentence: str
    stats: PairedComparison | None = None
    p_value_adjusted: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _without(super().to_dict(), "stats", "p_value_adjusted", "significant", "sentence")
        if self.p_value_adjusted is not None:
            out["p_value_adjusted"] = self.p_value_adjusted
        if self.stats is not None:
            stats = self.stats.to_dict()
            renamed = {"mean_a": "mean_after", "mean_b": "mean_before", "wins": "better_after", "ties": "same",
                       "losses": "worse_after"}
            out.update({k: v for k, v in stats.items() if k not in renamed})
            out.update({new: stats[old] for old, new in renamed.items()})
        out["significant"] = self.significant
        out["sentence"] = self.sentence
        return out


@dataclass(frozen=True)
class Worse(Record):
    """A comparison that fails the --fail-if-worse gate, and why."""

    rubric: str
    model: str
    mean_diff: float | None
    reason: str


@dataclass(frozen=True)
class CompareReport(Record):
    schema_version: int
    before: RunRef
    after: RunRef
    models: list[ModelChange]
    warnings: list[str]
    comparisons: list[RunComparison]
    adjustment: str
    fail_if_worse: float | None
    worse: list[Worse]
    method: str


__all__ = [
    "CompareReport",
    "Comparison",
    "JuryAgreement",
    "Methods",
    "ModelChange",
    "ModelScores",
    "PairResult",
    "PairwiseResult",
    "PositionBias",
    "Reliability",
    "RepeatDisagreement",
    "RepeatSpread",
    "RubricResult",
    "RunComparison",
    "RunRef",
    "RunResults",
    "RunSummary",
    "TradeoffCell",
    "Tradeoffs",
    "Worse",
]
