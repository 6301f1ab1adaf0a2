"""assay: measure LLM quality with rubrics scored by LLM judges — which model is better, and by how much.

    import assay
    outcome = assay.run("eval.yaml")          # run a spec to the end
    data = assay.results(outcome.run_id)      # every statistic, as a dict
    diff = assay.compare(before_id, after_id) # one model across two runs
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay.config import EvalSpec, ModelSpec, load_spec
from assay.dataset import Sample
from assay.errors import AssayError
from assay.evaluate import RunOutcome, resume, run
from assay.rubric import Rubric, load_rubric

__version__ = "0.1.0"


def results(run_id: str, *, db: str | Path | None = None) -> dict[str, Any]:
    """A run's results as plain data: the same numbers `assay results --json` prints."""
    from assay.report.results import run_results
    from assay.store import Store

    store = Store(db)
    try:
        return run_results(store, run_id)
    finally:
        store.close()


def compare(before_run: str, after_run: str, *, model: str | None = None, force: bool = False,
            fail_if_worse: float | None = None, db: str | Path | None = None) -> dict[str, Any]:
    """One model across two runs: the same numbers `assay compare BEFORE AFTER --json` prints."""
    from assay.report.compare import compare_runs
    from assay.store import Store

    store = Store(db)
    try:
        return compare_runs(store, before_run, after_run, model=model, force=force, fail_if_worse=fail_if_worse)
    finally:
        store.close()


__all__ = ["AssayError", "EvalSpec", "ModelSpec", "Rubric", "RunOutcome", "Sample", "compare", "load_rubric",
           "load_spec", "results", "resume", "run"]
