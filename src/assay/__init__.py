"""assay: measure LLM quality with rubrics scored by LLM judges — which model is better, and by how much.

    import assay
    outcome = assay.run("eval.yaml")          # run a spec to the end
    data = assay.results(outcome.run_id)      # every statistic, as a dict
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


__all__ = ["AssayError", "EvalSpec", "ModelSpec", "Rubric", "RunOutcome", "Sample", "load_rubric", "load_spec",
           "results", "resume", "run"]
