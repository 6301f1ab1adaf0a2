"""The results of a run as plain data: per rubric and model, scores with uncertainty; per pair, which is better.

Reads the store, calls the pure statistics room, returns a JSON-ready dict that every view (CLI table,
`--json`, Python API) shows as it is.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import Any

import numpy as np

from assay.stats import describe, holm, paired_difference, verdict_sentence
from assay.store.store import Store

FAILED_SHARE_FLAG = 0.05


def run_results(store: Store, run_id: str, *, seed: int = 0) -> dict[str, Any]:
    info = store.get_run(run_id)
    run_id = info.id  # the caller may have given a unique prefix
    spec = info.spec
    candidates = [c["label"] for c in spec["candidates"]]
    rubrics = {r["name"]: r for r in spec["rubrics"]}
    # scores[rubric][candidate][sample] = list of scores over repeats; failures counted apart.
    scores: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    failed: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    versions: dict[str, set[str]] = defaultdict(set)
    for rubric, candidate, sample_id, status, version, score in store.judgment_scores(run_id):
        versions[rubric].add(version)
        if status == "done":
            scores[rubric][candidate][sample_id].append(score)
        else:
            failed[rubric][candidate] += 1

    per_rubric = []
    comparisons: list[dict[str, Any]] = []
    for rname, rubric in rubrics.items():
        scale = (rubric["scale"]["min"], rubric["scale"]["max"])
        models = []
        means: dict[str, dict[str, float]] = {}
        for cand in candidates:
            by_sample = {s: float(np.mean(v)) for s, v in scores[rname][cand].items()}
            means[cand] = by_sample
            summary = describe(list(by_sample.values()), scale=scale, seed=seed)
            n_failed = failed[rname][cand]
            total = summary.n + n_failed
            share = n_failed / total if total else 0.0
            models.append({"model": cand, "n_scored": summary.n, "n_failed": n_failed,
                           "failed_share": share, "flagged": share > FAILED_SHARE_FLAG,
                           **{k: v for k, v in summary.to_dict().items() if k != "n"}})
        for a, b in combinations(candidates, 2):
            common = sorted(set(means[a]) & set(means[b]))
            entry: dict[str, Any] = {"rubric": rname, "model_a": a, "model_b": b, "n_paired": len(common)}
            if len(common) >= 2:
                cmp = paired_difference([means[a][s] for s in common], [means[b][s] for s in common], seed=seed)
                entry["comparison"] = cmp
            comparisons.append(entry)
        per_rubric.append({"rubric": rname, "kind": rubric["kind"], "scale": list(scale),
                           "versions": sorted(versions[rname]), "models": models})

    # One family of tests: every pair on every rubric. Holm keeps the chance of any false "better" at 5%.
    tested = [c for c in comparisons if "comparison" in c]
    adjusted = holm([c["comparison"].p_value for c in tested]) if tested else []
    for entry, p_adj in zip(tested, adjusted):
        cmp = entry.pop("comparison")
        entry.update(cmp.to_dict())
        entry["p_value_adjusted"] = p_adj
        entry["adjustment"] = f"Holm over {len(tested)} comparison(s)"
        entry["sentence"] = verdict_sentence(entry["model_a"], entry["model_b"], cmp, rubric=entry["rubric"],
                                             adjusted_p=p_adj if len(tested) > 1 else None)
    for entry in comparisons:
        if "sentence" not in entry:
            entry["sentence"] = (f"On {entry['rubric']}, {entry['model_a']} and {entry['model_b']} share too few "
                                 f"scored samples ({entry['n_paired']}) to compare.")

    counts = store.run_counts(run_id)
    return {
        "run": {"id": info.id, "name": info.name, "status": info.status, "created_at": info.created_at,
                "dataset": spec["dataset"], "candidates": candidates, "judge": spec["judge"]["label"],
                "judge_model": spec["judge"]["model"], "judge_identity": _identity(spec["judge"])},
        "counts": counts,
        "usage": store.usage(run_id),
        "rubrics": per_rubric,
        "comparisons": comparisons,
    }


def _identity(model: dict[str, Any]) -> str:
    from assay.config.models import ModelSpec
    return ModelSpec.model_validate(model).identity
