"""assay.stats: the statistics room. Pure functions: sequences in, immutable result records out.

Nothing here touches a database, the network or files. Every random procedure takes a ``seed`` (default 0)
and draws from ``numpy.random.default_rng(seed)``, so results are reproducible. Records are frozen
dataclasses whose ``to_dict()`` returns JSON-safe plain values (None, never NaN, for undefined statistics).
The methods, the rules (significance, ranking ties, Holm) and the simulation that checks them are written up
in docs/statistics.md.

    describe(scores)                       -> ScoreSummary      one model, one rubric
    paired_difference(a, b)                -> PairedComparison  two models on the same samples
    holm(p_values)                         -> list[float]       Holm-Bonferroni adjustment
    rank_models({model: scores})           -> Ranking           ranks with ties for indistinguishable models
    verdict_sentence(a, b, cmp, rubric=..) -> str               the verdict in one plain sentence
    min_detectable_difference / samples_needed                  power for paired comparisons
    win_rate / bradley_terry / length_controlled_win_rate       pairwise (A vs B) judging
    agreement(a, b, kind=...)              -> Agreement         judge-human or judge-judge agreement
"""

from .agreement import Agreement, agreement
from .describe import ScoreSummary, describe
from .multiple import holm
from .paired import PairedComparison, paired_difference
from .pairwise import BTScore, LengthControlled, WinRate, bradley_terry, length_controlled_win_rate, win_rate
from .power import min_detectable_difference, samples_needed
from .ranking import RANKING_RULE, RankComparison, RankedModel, Ranking, group_ranks, rank_models
from .sentence import format_p, verdict_sentence

__all__ = [
    "RANKING_RULE",
    "Agreement",
    "BTScore",
    "LengthControlled",
    "PairedComparison",
    "RankComparison",
    "RankedModel",
    "Ranking",
    "ScoreSummary",
    "WinRate",
    "agreement",
    "bradley_terry",
    "describe",
    "format_p",
    "group_ranks",
    "holm",
    "length_controlled_win_rate",
    "min_detectable_difference",
    "paired_difference",
    "rank_models",
    "samples_needed",
    "verdict_sentence",
    "win_rate",
]
