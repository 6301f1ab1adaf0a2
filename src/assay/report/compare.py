"""Comparing the same model across two runs (before and after a prompt or model change), paired over the
samples both runs scored. Refuses runs whose rubric or judge versions differ, unless forced. Returns typed
records (`report.records.CompareReport`) and their JSON."""

from __future__ import annotations

from typing import Any

from assay.errors import AssayError
from assay.report.records import CompareReport, ModelChange, RunComparison, RunRef, Worse
from assay.report.results import ALPHA, RESULTS_SCHEMA_VERSION, Scores, _identity, load_scores
from assay.report.verdicts import paired_verdicts
from assay.rubric import Rubric
from assay.stats import PairedComparison, format_p, holm, paired_difference
from assay.store.store import RunInfo, Store


class IncomparableRuns(AssayError):
    """The runs were scored with different rubric or judge versions."""


def _rubric_versions(info: RunInfo, scores: Scores) -> dict[str, tuple[str, str]]:
    """Each rubric's kind and the version its judgments were made with, as stored with them (several, joined,
    if a resume ran under another prompt); a rubric with no judgment yet falls back to its snapshot's version."""
    out = {}
    for r in info.spec["rubrics"]:
        stored = scores.versions.get(r["name"])
        version = ", ".join(sorted(stored)) if stored else Rubric.model_validate(r).version
        out[r["name"]] = (r["kind"], version)
    return out


def _judges(info: RunInfo) -> dict[str, str]:
    return {j["label"]: _identity(j) for j in info.spec["judges"]}


def _model_pairs(a: RunInfo, b: RunInfo, model: str | None) -> list[tuple[str, str]]:
    labels_a = [c["label"] for c in a.spec["candidates"]]
    labels_b = [c["label"] for c in b.spec["candidates"]]
    if model:
        before, _, after = model.partition(":")
        after = after or before
        if before not in labels_a:
            raise AssayError(f"run {a.id} has no candidate {before!r} (it has {', '.join(labels_a)})")
        if after not in labels_b:
            raise AssayError(f"run {b.id} has no candidate {after!r} (it has {', '.join(labels_b)})")
        return [(before, after)]
    common = [m for m in labels_a if m in labels_b]
    if common:
        return [(m, m) for m in common]
    if len(labels_a) == 1 and len(labels_b) == 1:
        return [(labels_a[0], labels_b[0])]
    raise AssayError(f"the runs share no candidate label; name the pair with --model BEFORE:AFTER "
                     f"(run {a.id}: {', '.join(labels_a)}; run {b.id}: {', '.join(labels_b)})")


def compare_runs(store: Store, run_a: str, run_b: str, *, model: str | None = None, force: bool = False,
                 fail_if_worse: float | None = None, seed: int = 0) -> dict[str, Any]:
    """The comparison of two runs as the JSON-ready dict every view shows (`compare_report(...).to_dict()`)."""
    return compare_report(store, run_a, run_b, model=model, force=force, fail_if_worse=fail_if_worse,
                          seed=seed).to_dict()


def compare_report(store: Store, run_a: str, run_b: str, *, model: str | None = None, force: bool = False,
                   fail_if_worse: float | None = None, seed: int = 0) -> CompareReport:
    """Run B (after) against run A (before): per rubric and model, the paired difference B − A."""
    a, b = store.get_run(run_a), store.get_run(run_b)
    warnings: list[str] = []
    rule = a.spec.get("settings", {}).get("aggregate", "mean")
    scores_a, scores_b = load_scores(store, a.id, rule), load_scores(store, b.id, rule)
    rubrics_a, rubrics_b = _rubric_versions(a, scores_a), _rubric_versions(b, scores_b)
    shared = [r for r in rubrics_a if r in rubrics_b and rubrics_a[r][0] != "pairwise"]
    if not shared:
        raise AssayError(f"runs {a.id} and {b.id} share no scored rubric (by name)")
    problems = [f"rubric {r!r} differs (version {rubrics_a[r][1]} in {a.id}, {rubrics_b[r][1]} in {b.id})"
                for r in shared if rubrics_a[r] != rubrics_b[r]]
    judges_a, judges_b = _judges(a), _judges(b)
    if judges_a != judges_b:
        problems.append(f"the judges differ ({_describe(judges_a)} in {a.id}, {_describe(judges_b)} in {b.id})")
    if problems and not force:
        raise IncomparableRuns("refusing to compare: " + "; ".join(problems) +
                               ". Scores from different rubrics or judges don't measure the same thing; "
                               "pass --force to compare anyway")
    warnings.extend(f"compared although {p}" for p in problems)

    if a.spec["dataset"]["version"] != b.spec["dataset"]["version"]:
        warnings.append(f"the runs used different versions of the dataset ({a.spec['dataset']['version']} and "
                        f"{b.spec['dataset']['version']}); samples are paired by id, so make sure an id means "
                        "the same question in both")
    if b.spec.get("settings", {}).get("aggregate", "mean") != rule:
        warnings.append("the runs combine several verdicts per output by different rules; the first run's "
                        f"rule ({rule}) is used for both")
    pairs = _model_pairs(a, b, model)
    found: list[tuple[str, str, str, int, PairedComparison | None]] = []
    for rubric in shared:
        for before, after in pairs:
            x_after, x_before = paired_verdicts(scores_b.raw[rubric][after], scores_a.raw[rubric][before], rule)
            cmp = paired_difference(x_after, x_before, seed=seed) if len(x_after) >= 2 else None
            found.append((rubric, before, after, len(x_after), cmp))
    tested = [i for i, f in enumerate(found) if f[4] is not None and f[4].p_value is not None]
    adjusted = dict(zip(tested, holm([found[i][4].p_value for i in tested]))) if tested else {}  # type: ignore[union-attr,misc]
    several = len(tested) > 1
    entries: list[RunComparison] = []
    worse: list[Worse] = []
    for i, (rubric, before, after, n, cmp) in enumerate(found):
        failed_before, failed_after = scores_a.failed[rubric][before], scores_b.failed[rubric][after]
        if cmp is None:
            entries.append(RunComparison(rubric=rubric, before=before, after=after, n_shared=n,
                                         failed_before=failed_before, failed_after=failed_after, significant=False,
                                         sentence=f"On {rubric}, the runs share too few scored samples ({n})."))
            if fail_if_worse is not None:  # a gate must not pass a run it could not check
                worse.append(Worse(rubric=rubric, model=after, mean_diff=None,
                                   reason="too few samples scored in both runs to check"))
            continue
        p_adj = adjusted.get(i)
        used = p_adj if several else None
        significant = cmp.significant(ALPHA, used)
        entries.append(RunComparison(rubric=rubric, before=before, after=after, n_shared=n,
                                     failed_before=failed_before, failed_after=failed_after, stats=cmp,
                                     p_value_adjusted=p_adj, significant=significant,
                                     sentence=_sentence(rubric, before, after, significant, cmp, used)))
        if fail_if_worse is not None and significant and cmp.mean_diff is not None and \
                cmp.mean_diff < -fail_if_worse:
            worse.append(Worse(rubric=rubric, model=after, mean_diff=cmp.mean_diff,
                               reason=f"significantly worse by more than {fail_if_worse:g}"))
    return CompareReport(
        schema_version=RESULTS_SCHEMA_VERSION,
        before=RunRef(id=a.id, name=a.name, dataset=a.spec["dataset"]),
        after=RunRef(id=b.id, name=b.name, dataset=b.spec["dataset"]),
        models=_models_changed(a, b, pairs), warnings=warnings, comparisons=entries,
        adjustment=f"Holm over {len(tested)} comparison(s)" if several else "none (a single comparison)",
        fail_if_worse=fail_if_worse, worse=worse,
        method="paired over samples (by id) scored in both runs; difference = after − before; significant = "
               "adjusted p < 0.05 and 95% CI excluding zero; --fail-if-worse DELTA fails when a difference is "
               "significant and below −DELTA, or when too few samples were scored in both runs to check",
    )


def _sentence(rubric: str, before: str, after: str, significant: bool, cmp: PairedComparison,
              p_adj: float | None) -> str:
    """Before/after in one sentence: the direction in words, the means, the difference with its CI."""
    model = after if after == before else f"{before} → {after}"
    p = p_adj if p_adj is not None else cmp.p_value
    p_text = ("p = —" if p is None else format_p(p)) + (", Holm-adjusted" if p_adj is not None else "")
    diff = (f"{_signed(cmp.mean_diff)} (95% CI {_signed(cmp.ci_low)} to {_signed(cmp.ci_high)}; {p_text}; "
            f"{_plain(cmp.mean_b)} → {_plain(cmp.mean_a)}, n = {cmp.n})")
    if significant:
        word = "better" if (cmp.mean_diff or 0) > 0 else "worse"
        return f"On {rubric}, {model} is {word} after than before: {diff}."
    return f"On {rubric}, the data can't tell {model} before and after apart: {diff}."


def _signed(x: float | None) -> str:
    return "—" if x is None else f"{x:+.2f}"


def _plain(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def _models_changed(a: RunInfo, b: RunInfo, pairs: list[tuple[str, str]]) -> list[ModelChange]:
    """What each followed candidate was in each run, so a changed model under a kept label is visible."""
    from assay.config.models import ModelSpec

    spec_a = {c["label"]: ModelSpec.model_validate(c) for c in a.spec["candidates"]}
    spec_b = {c["label"]: ModelSpec.model_validate(c) for c in b.spec["candidates"]}
    return [ModelChange(before=x, after=y, before_model=spec_a[x].model, after_model=spec_b[y].model,
                        changed=spec_a[x].identity != spec_b[y].identity) for x, y in pairs]


def _describe(judges: dict[str, str]) -> str:
    return ", ".join(f"{label}#{identity[:8]}" for label, identity in judges.items())
