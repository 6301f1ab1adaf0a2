"""Rubrics: a quality dimension, its scale and level meanings, and the template the judge sees."""

from assay.rubric.load import load_rubric, rubric_from_mapping
from assay.rubric.model import Rubric, RubricKind, Scale
from assay.rubric.template import JUDGE_PROMPT_VERSION, JUDGE_SYSTEM_PROMPT, PAIRWISE_SYSTEM_PROMPT, render, render_pair

__all__ = ["JUDGE_PROMPT_VERSION", "JUDGE_SYSTEM_PROMPT", "PAIRWISE_SYSTEM_PROMPT", "Rubric", "RubricKind", "Scale", "load_rubric",
           "render", "render_pair", "rubric_from_mapping"]
