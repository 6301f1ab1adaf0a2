"""Lint a rubric: problems that validation lets through but that make a judge's scores less trustworthy.

`Rubric` validation already rejects what can't work at all (no `{{ eval_model_response }}`, an adherence
template without the reference, levels outside the scale). Lint looks for what works badly. The heuristics are
deliberately simple:

| code | severity | when |
|---|---|---|
| `empty-level` | error | a level's meaning is blank: the judge is shown a number with nothing to say what it means |
| `no-levels` | warning | no level meanings at all |
| `missing-endpoints` | warning | the lowest or the highest score has no meaning |
| `partial-levels` | warning | the scale has more than 5 levels and some are undescribed (they are listed) |
| `wide-scale` | warning | the scale has more than 10 levels: judges don't use fine scales consistently |
| `levels-not-shown` | warning | levels are described but the template never shows `{{ score_levels }}` |
| `scale-not-shown` | warning | the template shows none of `score_min`, `score_max`, `score_levels` |
| `description-not-shown` | warning | the template never shows `{{ rubric_description }}` |
| `no-context` | warning | a direct or pairwise rubric whose template never shows `{{ conversation_context }}` |
| `reference-in-direct` | warning | a direct rubric shows `{{ conversation_response }}` (empty on rows without one) |
| `vague-description` | warning | the description is under 40 characters, or has fewer than 3 concrete words |

A pairwise rubric picks the better of two outputs (or a tie): it has no score, so the checks of the scale and the
level meanings (`empty-level`, `no-levels`, `missing-endpoints`, `partial-levels`, `wide-scale`,
`levels-not-shown`, `scale-not-shown`) don't apply to it; the description and context checks do.

A *concrete word* is a word of 4 or more letters that is neither a common function word nor a generic word of
judging ("good", "quality", "response", "overall", ...): "Is the response good?" has none; "Are the facts,
numbers and dates correct?" has four.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import jinja2
from jinja2 import meta

from assay.rubric.model import Rubric

Severity = Literal["warning", "error"]

MIN_DESCRIPTION_CHARS = 40
MIN_CONCRETE_WORDS = 3
FULLY_DESCRIBED_ABOVE = 5   # scales with more levels than this should describe every level
MAX_LEVELS = 10

_GENERIC = frozenset("""
about above after again also answer answers assess because been before being below best better between both
could does doing done each evaluate every from good great have having here high into judge just less like
look make made more most much nice okay only other output outputs overall over poor quality rate rating
really response responses same score scores should some such than that their them then there these they
this those very well were what when where whether which while will with would your bad fine general model
models text thing things rubric dimension
""".split())
_WORD = re.compile(r"[A-Za-z]+")

_env = jinja2.Environment()


@dataclass(frozen=True)
class LintFinding:
    code: str
    severity: Severity
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def concrete_words(text: str) -> set[str]:
    """The words of a description that say something specific (see the module docstring)."""
    return {w for w in (m.lower() for m in _WORD.findall(text)) if len(w) >= 4 and w not in _GENERIC}


def _ranges(levels: list[int]) -> str:
    """[2, 3, 4, 7] -> '2-4, 7'."""
    runs: list[list[int]] = []
    for x in levels:
        if runs and x == runs[-1][-1] + 1:
            runs[-1].append(x)
        else:
            runs.append([x])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def template_variables(source: str) -> set[str]:
    return set(meta.find_undeclared_variables(_env.parse(source)))


def lint(rubric: Rubric) -> list[LintFinding]:
    """Findings for one rubric, errors first. An empty list means nothing to report."""
    found: list[LintFinding] = []

    def add(code: str, severity: Severity, message: str) -> None:
        found.append(LintFinding(code, severity, message))

    variables = template_variables(rubric.effective_template)
    if not rubric.pairwise:  # a pairwise judge names a winner: no scale, no levels to check
        _lint_scale(rubric, variables, add)
    if "rubric_description" not in variables:
        add("description-not-shown", "warning", "the template never shows the rubric's description to the judge "
            "(add {{ rubric_description }})")
    if rubric.kind in ("direct", "pairwise") and "conversation_context" not in variables:
        add("no-context", "warning", "the template never shows the conversation ({{ conversation_context }}): "
            "the judge can't see what was asked; fine only if the response can be judged on its own")
    if rubric.kind == "direct" and "conversation_response" in variables:
        add("reference-in-direct", "warning", "a direct rubric's template shows the reference "
            "({{ conversation_response }}): rows without a reference show the judge an empty one; "
            "use kind: adherence to judge against the reference")

    description = rubric.description.strip()
    reasons = []
    if len(description) < MIN_DESCRIPTION_CHARS:
        reasons.append(f"only {len(description)} characters")
    if len(concrete_words(description)) < MIN_CONCRETE_WORDS:
        reasons.append("no concrete criteria")
    if reasons:
        add("vague-description", "warning", f"the description is vague ({', '.join(reasons)}): say what the judge "
            "should check, e.g. which facts, constraints or qualities make a response better or worse")

    return sorted(found, key=lambda f: f.severity != "error")


def _lint_scale(rubric: Rubric, variables: set[str], add: Callable[[str, Severity, str], None]) -> None:
    """The findings about the scale and the level meanings (of a rubric that gives scores)."""
    lo, hi = rubric.scale.min, rubric.scale.max
    n_levels = hi - lo + 1
    levels = rubric.levels

    blank = sorted(k for k, v in levels.items() if not v.strip())
    if blank:
        add("empty-level", "error", f"level(s) {_ranges(blank)} have an empty meaning; describe them or remove them")
    described = sorted(k for k, v in levels.items() if v.strip())
    if not described:
        add("no-levels", "warning", f"no level meanings: the judge has to guess what each score from {lo} to {hi} "
            "means; describe at least the lowest, the middle and the highest score under `levels`")
    else:
        ends = [f"the {which} score ({x})" for which, x in (("lowest", lo), ("highest", hi)) if x not in described]
        if ends:
            add("missing-endpoints", "warning", f"{' and '.join(ends)} {'has' if len(ends) == 1 else 'have'} no "
                "meaning: describe the ends of the scale so the judge knows what worst and best look like")
        missing = [x for x in range(lo, hi + 1) if x not in described]
        if n_levels > FULLY_DESCRIBED_ABOVE and missing:
            add("partial-levels", "warning", f"only {len(described)} of the {n_levels} levels of the scale {lo}-{hi} "
                f"are described; levels {_ranges(missing)} are not, and judges use undescribed levels "
                "inconsistently: describe every level or use a narrower scale")
    if n_levels > MAX_LEVELS:
        add("wide-scale", "warning", f"the scale {lo}-{hi} has {n_levels} levels; judges don't use more than about "
            f"{MAX_LEVELS} consistently: use a narrower scale (1-5 is usually enough)")

    if described and "score_levels" not in variables:
        add("levels-not-shown", "warning", "levels are described, but the template never shows them to the judge "
            "(add {{ score_levels }})")
    if not variables & {"score_min", "score_max", "score_levels"}:
        add("scale-not-shown", "warning", "the template never tells the judge the scale (add {{ score_min }} and "
            "{{ score_max }}, or {{ score_levels }})")
