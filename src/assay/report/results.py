"""The results of a run as plain data: per rubric and model, scores with uncertainty; per pair, which is better.

Reads the store, calls the pure statistics room, returns typed records (`report.records`) whose JSON every
view (CLI table, `--json`, Python API) shows as it is. The rules are stated in the data itself (`methods`), so a
reader of the JSON never has to guess how a number was made.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np

from assay.report.records import (
    Comparison,
    JuryAgreement,
    Methods,
    ModelScores,
    PairResult,
    PairwiseResult,
    PositionBias,
    Reliability,
    RepeatDisagreement,
    RepeatSpread,
    RubricResult,
    RunResults,
    RunSummary,
    TradeoffCell,
    Tradeoffs,
)
from assay.report.verdicts import (
    AGGREGATE_RULES,
    PAIR_RULE,
    PairUnit,
    combine,
    output_verdict,
    pair_outcomes,
    pair_units,
    paired_verdicts,
)
from assay.stats import (
    RANKING_RULE,
    PairedComparison,
    RankedModel,
    WinRate,
    agreement,
    bradley_terry,
    describe,
    group_ranks,
    holm,
    length_controlled_win_rate,
    paired_difference,
    verdict_sentence,
    win_rate,
)
from assay.stats.pairwise import tally
from assay.store.store import SKIPPED, Store

# Bump when a field of the results JSON changes meaning or goes away. 2: a pair's outcome is the mean of its
# verdicts (was a majority), the win-rate CI uses the outcomes' own variance, the length-controlled win rate
# is AlpacaEval 2's GLM.
RESULTS_SCHEMA_VERSION = 2
FAILED_SHARE_FLAG = 0.05
ALPHA = 0.05


@dataclass
class Scores:
    """A run's pointwise judgments, gathered: `raw[rubric][candidate][sample][judge]` = scores over repeats
    (done only); `verdicts[rubric][candidate][sample]` = the one combined score per output."""

    raw: dict[str, dict[str, dict[str, dict[str, list[float]]]]]
    verdicts: dict[str, dict[str, dict[str, float]]]
    failed: dict[str, Counter[str]]      # failed judgments, whatever the cause
    no_output: dict[str, Counter[str]]   # ... of which: the candidate produced no output to judge
    total: dict[str, Counter[str]]
    versions: dict[str, set[str]]


def load_scores(store: Store, run_id: str, rule: str) -> Scores:
    raw: dict[str, dict[str, dict[str, dict[str, list[float]]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(list))))
    failed: dict[str, Counter[str]] = defaultdict(Counter)
    no_output: dict[str, Counter[str]] = defaultdict(Counter)
    total: dict[str, Counter[str]] = defaultdict(Counter)
    versions: dict[str, set[str]] = defaultdict(set)
    for rubric, candidate, sample_id, status, version, score, judge, _repeat, missing in \
            store.judgment_scores(run_id):
        versions[rubric].add(version)
        total[rubric][candidate] += 1
        if status == "done" and score is not None:
            raw[rubric][candidate][sample_id][judge].append(float(score))
        else:
            failed[rubric][candidate] += 1
            if missing:
                no_output[rubric][candidate] += 1
    verdicts: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for rubric, by_cand in raw.items():
        for cand, by_sample in by_cand.items():
            verdicts[rubric][cand] = {s: output_verdict(by_judge, by_judge, rule) for s, by_judge in by_sample.items()}
    return Scores(raw, verdicts, failed, no_output, total, versions)


def run_results(store: Store, run_id: str, *, seed: int = 0) -> dict[str, Any]:
    """A run's results as the JSON-ready dict every view shows (`results_report(...).to_dict()`)."""
    return results_report(store, run_id, seed=seed).to_dict()


def results_report(store: Store, run_id: str, *, seed: int = 0) -> RunResults:
    info = store.get_run(run_id)
    run_id = info.id  # the caller may have given a unique prefix
    spec = info.spec
    settings = spec.get("settings", {})
    rule = settings.get("aggregate", "mean")
    candidates = [c["label"] for c in spec["candidates"]]
    judges = [j["label"] for j in spec["judges"]]
    rubrics = {r["name"]: r for r in spec["rubrics"]}
    pointwise = [name for name, r in rubrics.items() if r["kind"] != "pairwise"]

    sc = load_scores(store, run_id, rule)
    comparisons = _comparisons({r: sc.raw[r] for r in pointwise}, candidates, rule, seed)
    per_rubric = [_rubric_result(sc, rubrics[rname], candidates, judges, rule, comparisons, seed)
                  for rname in pointwise]
    pairwise = [_pairwise(store, run_id, name, candidates, seed)
                for name in rubrics if rubrics[name]["kind"] == "pairwise"]
    return RunResults(
        schema_version=RESULTS_SCHEMA_VERSION,
        run=RunSummary(id=info.id, name=info.name, status=info.status, created_at=info.created_at,
                       dataset=spec["dataset"], candidates=candidates, judges=judges, judge=judges[0],
                       judge_model=spec["judges"][0]["model"],
                       judge_identities={j["label"]: _identity(j) for j in spec["judges"]},
                       judge_samples=settings.get("judge_samples", 1), aggregate=rule),
        counts=store.run_counts(run_id),
        failures=store.failures(run_id),
        usage=store.usage(run_id),
        rubrics=per_rubric,
        comparisons=comparisons,
        tradeoffs=_tradeoffs(per_rubric),
        pairwise=pairwise,
        methods=Methods(
            aggregate=f"several verdicts on one output (repeats, then judges) are combined by "
                      f"{AGGREGATE_RULES[rule]}",
            comparisons="paired over the samples both models have; p-values Holm-adjusted over every pair on "
                        "every rubric; significant = adjusted p < 0.05 and the 95% CI excluding zero",
            ranking=RANKING_RULE,
            pairwise=PAIR_RULE,
        ),
    )


def _rubric_result(sc: Scores, rubric: dict[str, Any], candidates: list[str], judges: list[str], rule: str,
                   comparisons: list[Comparison], seed: int) -> RubricResult:
    """One pointwise rubric: each candidate's combined scores described, reliability, and the ranking."""
    rname = rubric["name"]
    scale = (rubric["scale"]["min"], rubric["scale"]["max"])
    models = []
    for cand in candidates:
        summary = describe(list(sc.verdicts[rname][cand].values()), scale=scale, seed=seed)
        n_failed, n_total = sc.failed[rname][cand], sc.total[rname][cand]
        share = n_failed / n_total if n_total else 0.0
        models.append(ModelScores(
            model=cand, n_scored=summary.n, n_failed=n_failed, n_failed_no_output=sc.no_output[rname][cand],
            failed_share=share, flagged=share > FAILED_SHARE_FLAG, mean=summary.mean, median=summary.median,
            sd=summary.sd, min=summary.min, max=summary.max, ci_low=summary.ci_low, ci_high=summary.ci_high,
            ci_method=summary.ci_method, histogram=summary.histogram))
    return RubricResult(rubric=rname, kind=rubric["kind"], scale=list(scale), versions=sorted(sc.versions[rname]),
                        models=models, reliability=_reliability(sc.raw[rname], judges, rule),
                        ranking=_ranking(rname, models, comparisons))


def _identity(model: dict[str, Any]) -> str:
    from assay.config.models import ModelSpec
    return ModelSpec.model_validate(model).identity


def _comparisons(raw: dict[str, dict[str, dict[str, dict[str, list[float]]]]], candidates: list[str],
                 rule: str, seed: int) -> list[Comparison]:
    """Every pair of candidates on every pointwise rubric: one family for Holm, one sentence each."""
    pairs: list[tuple[str, str, str, int, PairedComparison | None]] = []
    for rname, by_cand in raw.items():
        for a, b in combinations(candidates, 2):
            xa, xb = paired_verdicts(by_cand[a], by_cand[b], rule)
            pairs.append((rname, a, b, len(xa), paired_difference(xa, xb, seed=seed) if len(xa) >= 2 else None))
    tested = [i for i, p in enumerate(pairs) if p[4] is not None and p[4].p_value is not None]
    adjusted = dict(zip(tested, holm([pairs[i][4].p_value for i in tested]))) if tested else {}  # type: ignore[union-attr,misc]
    several = len(tested) > 1
    out = []
    for i, (rname, a, b, n, cmp) in enumerate(pairs):
        if cmp is None:
            out.append(Comparison(rubric=rname, model_a=a, model_b=b, n_paired=n, significant=False,
                                  sentence=f"On {rname}, {a} and {b} share too few scored samples ({n}) to compare."))
            continue
        p_adj = adjusted.get(i)
        used = p_adj if several else None
        out.append(Comparison(
            rubric=rname, model_a=a, model_b=b, n_paired=n, stats=cmp, p_value_adjusted=p_adj,
            adjustment=f"Holm over {len(tested)} comparison(s)" if several else "none (a single comparison)",
            significant=cmp.significant(ALPHA, used),
            sentence=verdict_sentence(a, b, cmp, rubric=rname, adjusted_p=used)))
    return out


def _ranking(rubric: str, models: list[ModelScores], comparisons: list[Comparison]) -> list[RankedModel]:
    """Ranks on one rubric, ties for models the (Holm-adjusted) comparisons can't tell apart."""
    scored = [m for m in models if m.mean is not None]
    sig = {frozenset((c.model_a, c.model_b)): c.significant for c in comparisons if c.rubric == rubric}
    return group_ranks({m.model: m.mean for m in scored if m.mean is not None},
                       {m.model: m.n_scored for m in scored},
                       lambda a, b: sig.get(frozenset((a, b)), False))


def _tradeoffs(per_rubric: list[RubricResult]) -> Tradeoffs:
    """Model × rubric means with CIs; `best` marks the top-ranked group of each rubric."""
    table: dict[str, dict[str, TradeoffCell]] = defaultdict(dict)
    for entry in per_rubric:
        best = {r.model for r in entry.ranking if r.rank == 1}
        for m in entry.models:
            table[m.model][entry.rubric] = TradeoffCell(mean=m.mean, ci_low=m.ci_low, ci_high=m.ci_high,
                                                        best=m.model in best)
    return Tradeoffs(rubrics=[e.rubric for e in per_rubric], models=dict(table))


def _reliability(raw: dict[str, dict[str, dict[str, list[float]]]], judges: list[str], rule: str) -> Reliability:
    """How stable each judge is across repeated samples, and how far a jury's judges agree."""
    repeats: dict[str, RepeatSpread] = {}
    per_judge: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    for cand, by_sample in raw.items():
        for sample, by_judge in by_sample.items():
            for judge, scores in by_judge.items():
                per_judge[judge][(cand, sample)] = combine(scores, rule)
    for judge in judges:
        spreads = [float(np.std(v, ddof=1)) for by_sample in raw.values() for by_judge in by_sample.values()
                   if len(v := by_judge.get(judge, [])) >= 2]
        if spreads:
            repeats[judge] = RepeatSpread(n_outputs=len(spreads), mean_sd=float(np.mean(spreads)),
                                          share_disagreeing=float(np.mean([s > 0 for s in spreads])))
    jury = []
    for a, b in combinations(judges, 2):
        keys = sorted(set(per_judge[a]) & set(per_judge[b]))
        if len(keys) < 2:
            continue
        xa, xb = [per_judge[a][k] for k in keys], [per_judge[b][k] for k in keys]
        kind: Literal["ordinal", "continuous"] = (
            "ordinal" if all(float(x).is_integer() for x in xa + xb) else "continuous")
        agr = agreement(xa, xb, kind=kind)
        jury.append(JuryAgreement(judge_a=a, judge_b=b, n=agr.n, kind=kind, exact_agreement=agr.exact_agreement,
                                  spearman=agr.spearman, krippendorff_alpha=agr.krippendorff_alpha))
    return Reliability(repeats=repeats, jury=jury)


def _pairwise(store: Store, run_id: str, rname: str, candidates: list[str], seed: int) -> PairwiseResult:
    """Both-order verdicts → per-sample outcomes (the mean of a pair's verdicts); win rates, position bias,
    length bias, ranking. Pairs never judged (a baseline layout, a partial run) are simply absent."""
    rows = [r for r in store.pairwise(run_id) if r["rubric"] == rname]
    n_failed = sum(1 for r in rows if r["status"] != "done")
    n_no_output = sum(1 for r in rows if r["status"] == SKIPPED)
    units = pair_units(rows)
    by_judge: dict[str, list[PairUnit]] = defaultdict(list)
    repeats: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    for u in units:
        by_judge[u.judge].append(u)
        repeats[(u.judge, u.sample_id, u.model_a, u.model_b)].append(u.outcome)
    stability: dict[str, list[bool]] = defaultdict(list)
    for (judge, *_), outcomes in repeats.items():
        if len(outcomes) >= 2:
            stability[judge].append(len(set(outcomes)) > 1)
    lengths = store.output_lengths(run_id)
    place = {c: i for i, c in enumerate(candidates)}
    pairs: list[PairResult] = []
    bt_input: list[tuple[str, str, float]] = []
    by_pair = pair_outcomes(units)
    for a, b in sorted(by_pair, key=lambda p: (place.get(p[0], len(place)), place.get(p[1], len(place)), p)):
        by_sample = by_pair[(a, b)]
        samples = list(by_sample)
        outcomes = [by_sample[s] for s in samples]
        bt_input.extend((a, b, o) for o in outcomes)
        wr = win_rate(outcomes, seed=seed)
        len_diff = [lengths.get((s, a), 0) - lengths.get((s, b), 0) for s in samples]
        length = length_controlled_win_rate(outcomes, len_diff, seed=seed) if len(outcomes) >= 2 else None
        pairs.append(PairResult(model_a=a, model_b=b, win=wr, length=length, sentence=_win_sentence(rname, a, b, wr)))
    judged = {m for a, b in by_pair for m in (a, b)}
    return PairwiseResult(
        rubric=rname, kind="pairwise", versions=sorted({r["rubric_version"] for r in rows}), n_failed=n_failed,
        n_failed_no_output=n_no_output,
        position_consistency={j: _position(us) for j, us in by_judge.items()},
        repeat_disagreement={j: RepeatDisagreement(n_pairs=len(v), share_disagreeing=float(np.mean(v)))
                             for j, v in stability.items()},
        pairs=pairs, bradley_terry=bradley_terry(bt_input, seed=seed) if len(judged) > 2 else [])


def _position(units: list[PairUnit]) -> PositionBias:
    """A judge's position bias over the pairs it judged in both orders: how often its verdict changed with the
    order (win, tie or loss for model A), and which way: how often the response shown first won. Every pair is
    shown both ways round, so with no bias the first position wins exactly as often as the second."""
    ab = np.array([u.ab for u in units])
    ba = np.array([u.ba for u in units])
    first = np.concatenate([ab, 1.0 - ba])  # the first-shown response's result, in both orders
    wins, _, losses = tally(first)
    changed = np.sign(np.round(ab - 0.5, 9)) != np.sign(np.round(ba - 0.5, 9))
    return PositionBias(n_pairs=len(units), inconsistent_share=float(np.mean(changed)), n_verdicts=int(first.size),
                        first_position_win_rate=float(first.mean()), first_position_wins=wins / first.size,
                        second_position_wins=losses / first.size)


def _win_sentence(rubric: str, a: str, b: str, wr: WinRate) -> str:
    """The pairwise verdict, told from the winner's side when there is one."""
    if wr.n == 0 or wr.rate is None or wr.ci_low is None or wr.ci_high is None:
        return f"On {rubric}, there are no position-controlled verdicts for {a} vs {b}."
    rate, lo, hi = wr.rate, wr.ci_low, wr.ci_high
    if hi < 0.5:  # b wins: report b's rate
        a, b, rate, lo, hi = b, a, 1 - rate, 1 - hi, 1 - lo
    share = f"{rate:.0%} (95% CI {lo:.0%} to {hi:.0%}, n = {wr.n}, ties as half)"
    if lo > 0.5:
        return f"On {rubric}, {a} beats {b}: {a}'s win rate is {share}."
    return f"On {rubric}, the data can't tell {a} and {b} apart: {a}'s win rate is {share}."
