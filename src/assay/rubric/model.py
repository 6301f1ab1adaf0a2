"""The `Rubric` record: one quality dimension, its score scale, level meanings and judge template.

A rubric's version is a hash of everything that changes what the judge sees, so results scored with
different wordings never mix.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assay.rubric.template import DEFAULT_TEMPLATES, FIVE_POINT_TEMPLATE, JUDGE_PROMPT_VERSION, check_template

RubricKind = Literal["direct", "adherence", "pairwise"]
PairScale = Literal["three-point", "five-point"]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class Scale(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min: int = 1
    max: int = 10

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.min >= self.max:
            raise ValueError(f"scale.min ({self.min}) must be less than scale.max ({self.max})")
        return self


class PairwiseOptions(BaseModel):
    """How a pairwise rubric is judged: the answer scale, which pairs, and how a verdict is read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # three-point: A, B or tie; five-point: A>>B, A>B, A=B, B>A, B>>A (outcomes 1, 0.75, 0.5, 0.25, 0).
    scale: PairScale = "three-point"
    # Judge each candidate against this one only (k pairs instead of k(k-1)/2); None: every pair.
    baseline: str | None = None
    # Read the verdict as the probability the judge's tokens put on each answer; None: the run's setting.
    weighted: bool | None = None

    @model_validator(mode="after")
    def _readable(self) -> PairwiseOptions:
        if self.weighted and self.scale != "three-point":
            raise ValueError("weighted verdicts need the three-point scale: the five answers of the five-point "
                             "scale share their first token, so their probabilities can't be told apart")
        return self


class Rubric(BaseModel):
    """A plain-English quality dimension scored on an integer scale by a judge."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str
    kind: RubricKind = "direct"
    description: str = Field(min_length=1)
    scale: Scale = Field(default_factory=Scale)
    levels: dict[int, str] = Field(default_factory=dict)
    template: str | None = None
    # Written `pairwise:` in YAML; only pairwise rubrics take it.
    pair_options: PairwiseOptions = Field(default_factory=PairwiseOptions, alias="pairwise")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("must be 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit")
        return v

    @field_validator("description")
    @classmethod
    def _strip_description(cls, v: str) -> str:
        return v.strip()

    @field_validator("levels")
    @classmethod
    def _strip_levels(cls, v: dict[int, str]) -> dict[int, str]:
        # Surrounding whitespace is not part of a meaning: the record holds the text exactly as the judge is
        # shown it and as the version hashes it, so one version can never stand for two prompts.
        return {k: text.strip() for k, text in v.items()}

    @model_validator(mode="after")
    def _consistent(self) -> Rubric:
        outside = [k for k in self.levels if not self.scale.min <= k <= self.scale.max]
        if outside:
            raise ValueError(
                f"levels {sorted(outside)} lie outside the scale {self.scale.min}-{self.scale.max}")
        if self.kind != "pairwise" and self.pair_options != PairwiseOptions():
            raise ValueError("'pairwise' options belong to rubrics of kind: pairwise")
        check_template(self.effective_template, kind=self.kind)
        return self

    @property
    def effective_template(self) -> str:
        if self.template is not None:
            return self.template
        if self.kind == "pairwise" and self.pair_options.scale == "five-point":
            return FIVE_POINT_TEMPLATE
        return DEFAULT_TEMPLATES[self.kind]

    @cached_property
    def version(self) -> str:
        """Content hash of the rubric as the judge will see it (plus the judge prompt version)."""
        payload: dict[str, Any] = {
            "name": self.name, "kind": self.kind, "description": self.description,
            "scale": [self.scale.min, self.scale.max],
            "levels": {str(k): v for k, v in sorted(self.levels.items())},
            "template": self.effective_template, "judge_prompt": JUDGE_PROMPT_VERSION,
        }
        options = self.pair_options.model_dump(exclude_defaults=True)
        if options:  # absent when unset, so the versions of rubrics written before these options stay the same
            payload["pairwise"] = options
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    @property
    def needs_reference(self) -> bool:
        return self.kind == "adherence"

    @property
    def pairwise(self) -> bool:
        return self.kind == "pairwise"
