"""Comparing the same model across two runs (before and after a prompt or model change), paired over the
samples both runs scored. Refuses runs whose rubric or judge versions differ, unless forced."""

from __future__ import annotations

from typing import Any

from assay.errors import AssayError
from assay.report.results import ALPHA, RESULTS_SCHEMA_VERSION, Scores, _identity, load_scores
from assay.report.verdicts import paired_verdicts
from assay.rubric import Rubric
from assay.stats import format_p, holm, paired_difference
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
    entries: list[dict[str, Any]] = []
    for rubric in shared:
        for before, after in _model_pairs(a, b, model):
            x_after, x_before = paired_verdicts(scores_b.raw[rubric][after], scores_a.raw[rubric][before], rule)
            entry: dict[str, Any] = {
                "rubric": rubric, "before": before, "after": after, "n_shared": len(x_after),
                "failed_before": scores_a.failed[rubric][before], "failed_after": scores_b.failed[rubric][after]}
            if len(x_after) >= 2:
                entry["_cmp"] = paired_difference(x_after, x_before, seed=seed)
            entries.append(entry)
    tested = [e for e in entries if "_cmp" in e and e["_cmp"].p_value is not None]
    adjusted = holm([e["_cmp"].p_value for e in tested]) if tested else []
    several = len(tested) > 1
    for entry, p_adj in zip(tested, adjusted):
        entry["p_value_adjusted"] = p_adj
    worse = []
    for entry in entries:
        cmp = entry.pop("_cmp", None)
        if cmp is None:
            entry["sentence"] = f"On {entry['rubric']}, the runs share too few scored samples ({entry['n_shared']})."
            entry["significant"] = False
            if fail_if_worse is not None:  # a gate must not pass a run it could not check
                worse.append({**entry, "mean_diff": None,
                              "reason": "too few samples scored in both runs to check"})
            continue
        p_adj = entry.get("p_value_adjusted")
        stats = cmp.to_dict()
        # paired_difference(after, before): its "a" is the after run. Name the sides for what they are.
        stats["mean_after"], stats["mean_before"] = stats.pop("mean_a"), stats.pop("mean_b")
        stats["better_after"], stats["same"], stats["worse_after"] = stats.pop("wins"), stats.pop("ties"), \
            stats.pop("losses")
        entry.update(stats)
        entry["significant"] = cmp.significant(ALPHA, p_adj if several else None)
        entry["sentence"] = _sentence(entry, cmp, p_adj if several else None)
        if fail_if_worse is not None and entry["significant"] and cmp.mean_diff < -fail_if_worse:
            worse.append({**entry, "reason": f"significantly worse by more than {fail_if_worse:g}"})
    return {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "before": {"id": a.id, "name": a.name, "dataset": a.spec["dataset"]},
        "after": {"id": b.id, "name": b.name, "dataset": b.spec["dataset"]},
        "models": _models_changed(a, b, _model_pairs(a, b, model)),
        "warnings": warnings, "comparisons": entries,
        "adjustment": f"Holm over {len(tested)} comparison(s)" if several else "none (a single comparison)",
        "fail_if_worse": fail_if_worse,
        "worse": [{"rubric": e["rubric"], "model": e["after"], "mean_diff": e["mean_diff"], "reason": e["reason"]}
                  for e in worse],
        "method": "paired over samples (by id) scored in both runs; difference = after − before; significant = "
                  "adjusted p < 0.05 and 95% CI excluding zero; --fail-if-worse DELTA fails when a difference is "
                  "significant and below −DELTA, or when too few samples were scored in both runs to check",
    }


def _sentence(entry: dict[str, Any], cmp: Any, p_adj: float | None) -> str:
    """Before/after in one sentence: the direction in words, the means, the difference with its CI."""
    model = entry["after"] if entry["after"] == entry["before"] else f"{entry['before']} → {entry['after']}"
    p_text = format_p(p_adj if p_adj is not None else cmp.p_value) + (", Holm-adjusted" if p_adj is not None else "")
    diff = (f"{cmp.mean_diff:+.2f} (95% CI {cmp.ci_low:+.2f} to {cmp.ci_high:+.2f}; {p_text}; "
            f"{cmp.mean_b:.2f} → {cmp.mean_a:.2f}, n = {cmp.n})")
    if entry["significant"]:
        word = "better" if cmp.mean_diff > 0 else "worse"
        return f"On {entry['rubric']}, {model} is {word} after than before: {diff}."
    return f"On {entry['rubric']}, the data can't tell {model} before and after apart: {diff}."


def _models_changed(a: RunInfo, b: RunInfo, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """What each followed candidate was in each run, so a changed model under a kept label is visible."""
    from assay.config.models import ModelSpec

    spec_a = {c["label"]: ModelSpec.model_validate(c) for c in a.spec["candidates"]}
    spec_b = {c["label"]: ModelSpec.model_validate(c) for c in b.spec["candidates"]}
    return [{"before": x, "after": y, "before_model": spec_a[x].model, "after_model": spec_b[y].model,
             "changed": spec_a[x].identity != spec_b[y].identity} for x, y in pairs]


def _describe(judges: dict[str, str]) -> str:
    return ", ".join(f"{label}#{identity[:8]}" for label, identity in judges.items())
