"""Rubrics: a quality dimension, its scale and level meanings, and the template the judge sees.

The core (`model`, `template`, `render`, `load`, `library`, `lint`) needs only errors and the dataset records; the
authoring tools built on it (`authoring`, `trial`, `generate`: what `assay rubric ...` runs) also ask models and
read the store, and are imported only where used.
"""

from assay.rubric.load import load_rubric, rubric_from_mapping
from assay.rubric.model import PairwiseOptions, Rubric, RubricKind, Scale
from assay.rubric.render import render, render_pair
from assay.rubric.template import (
    FIVE_POINT_SYSTEM_PROMPT,
    JUDGE_PROMPT_VERSION,
    JUDGE_SYSTEM_PROMPT,
    PAIRWISE_SYSTEM_PROMPT,
)

__all__ = ["FIVE_POINT_SYSTEM_PROMPT", "JUDGE_PROMPT_VERSION", "JUDGE_SYSTEM_PROMPT", "PAIRWISE_SYSTEM_PROMPT",
           "PairwiseOptions", "Rubric", "RubricKind", "Scale", "load_rubric", "render", "render_pair",
           "rubric_from_mapping"]
