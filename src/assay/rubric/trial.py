"""Trying a rubric on one dataset row (`assay rubric test`): what the judge is shown and what it answers,
asked K times with the seeds a run would use, so an author sees how stable the verdict is before a run.

The results are plain data (the `--json` output): one entry per repeat, a summary, and notes on what the
repeats can and can't tell.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assay.config import ModelSpec
from assay.dataset import Sample
from assay.errors import DatasetError, RubricError
from assay.rubric.model import Rubric

# In a pairwise test, the two outputs are named by their options; the orders by what is shown as response A.
PAIR_OUTPUTS = {"ab": {"A": "output", "B": "output_b"}, "ba": {"A": "output_b", "B": "output"}}
ORDERS = ("ab", "ba")
JUDGE_RETRIES = 2  # as a run's default `judge_retries`


@dataclass(frozen=True)
class ScoreTrial:
    """A scoring rubric tried on one output: each repeat's verdict, their summary, and notes."""

    messages: list[dict[str, Any]]
    results: list[dict[str, Any]]
    summary: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def scores(self) -> list[float]:
        return [r["score"] for r in self.results if r["ok"]]


@dataclass(frozen=True)
class PairTrial:
    """A pairwise rubric tried on two outputs in both orders: each repeat's two verdicts, whether the verdict
    flipped with the order, their summary, and notes."""

    messages: dict[str, list[dict[str, Any]]]
    results: list[dict[str, Any]]
    summary: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def parsed(self) -> int:
        return int(self.summary["parsed"])


def output_to_judge(rub: Rubric, sample: Sample, output: str | None, picked: str,
                    dataset: str) -> tuple[str, str]:
    """The text a scoring rubric judges, and where it comes from: the output given, else the row's reference
    (a direct rubric only: an adherence rubric compares an output with that reference)."""
    if output is not None:
        return output, "--output"
    if rub.needs_reference:
        raise RubricError(f"rubric {rub.name!r} is an adherence rubric: it compares an output with the row's "
                          "reference, so give the output to judge with --output TEXT")
    if sample.reference is not None:
        return sample.reference, "the row's reference"
    raise DatasetError(f"{picked} of {dataset} has no reference to judge; give the output to judge with "
                       "--output TEXT")


Ask = tuple[list[dict[str, Any]], dict[str, Any], int, Callable[[str], Any]]  # messages, schema, repeat, parse


async def _ask_all(spec: ModelSpec, calls: Sequence[Ask], retries: int) -> list[dict[str, Any]]:
    """Ask the judge for every (messages, schema, repeat, parse) at once, as a run asks it (`ask_verdict`: the
    repeat's seeds, a verdict that can't be parsed asked again up to `retries` times, the entry's limits and
    retry policy): {ok, verdict | error, raw, tries} each."""
    from assay.engine.asking import Tries, ask_verdict
    from assay.engine.oneshot import OneShot

    caller = OneShot(spec)

    async def one(messages: list[dict[str, Any]], schema: dict[str, Any], repeat: int,
                  parse: Callable[[str], Any]) -> dict[str, Any]:
        tries = Tries()
        verdict, _, _, error = await ask_verdict(caller, spec, messages, schema, repeat,
                                                 lambda answer: parse(answer.text), tries, retries)
        if error is not None:
            return {"ok": False, "error": error, "raw": tries.raw, "tries": tries.count}
        return {"ok": True, "verdict": verdict, "raw": tries.raw, "tries": tries.count}

    try:
        return list(await asyncio.gather(*(one(*call) for call in calls)))
    finally:
        await caller.aclose()


def _seeds(spec: ModelSpec, k: int) -> list[int | None]:
    """The seed of each repeat's first try, as in a run: repeat 0 is the judge's ordinary request, later repeats
    ask with distinct seeds so a sampling judge gives independent draws rather than K copies of one answer."""
    from assay.engine.asking import verdict_seed

    return [verdict_seed(spec, i, 0) for i in range(k)]


async def _judge_repeatedly(spec: ModelSpec, rub: Rubric, messages: list[dict[str, Any]],
                            k: int, retries: int) -> list[dict[str, Any]]:
    from assay.judge import parse_verdict, verdict_schema

    schema = verdict_schema(rub)
    seeds = _seeds(spec, k)
    answers = await _ask_all(spec, [(messages, schema, i, lambda text: parse_verdict(text, rub)) for i in range(k)],
                             retries)
    results = []
    for i, (seed, a) in enumerate(zip(seeds, answers), 1):
        if a["ok"]:
            results.append({"attempt": i, "seed": seed, "ok": True, "score": a["verdict"].score,
                            "reasoning": a["verdict"].reasoning, "raw": a["raw"], "tries": a["tries"]})
        else:
            results.append({"attempt": i, "seed": seed, "ok": False, "error": a["error"], "raw": a["raw"],
                            "tries": a["tries"]})
    return results


async def _judge_pairs(spec: ModelSpec, rub: Rubric, messages: dict[str, list[dict[str, Any]]], k: int,
                       retries: int) -> list[dict[str, Any]]:
    """Each repeat asks for both orders (--output shown as response A, then --output-b shown as response A),
    with the repeat's seed, as a run does. A verdict is reported by position and by the output it prefers."""
    from assay.judge import pairwise_schema, parse_pair_verdict

    schema = pairwise_schema(rub)  # the rubric's scale: three-point or five-point answers
    seeds = _seeds(spec, k)
    answers = await _ask_all(spec, [(messages[order], schema, i, lambda text: parse_pair_verdict(text, rub))
                                    for i in range(k) for order in ORDERS], retries)
    results = []
    for i, seed in enumerate(seeds):
        entry: dict[str, Any] = {"attempt": i + 1, "seed": seed}
        for j, order in enumerate(ORDERS):
            a = answers[2 * i + j]
            if a["ok"]:
                winner = a["verdict"].winner
                entry[order] = {"ok": True, "winner": winner, "preferred": PAIR_OUTPUTS[order].get(winner, "tie"),
                                "reasoning": a["verdict"].reasoning, "raw": a["raw"], "tries": a["tries"]}
            else:
                entry[order] = {"ok": False, "error": a["error"], "raw": a["raw"], "tries": a["tries"]}
        both = entry["ab"]["ok"] and entry["ba"]["ok"]
        entry["flipped"] = entry["ab"]["preferred"] != entry["ba"]["preferred"] if both else None
        results.append(entry)
    return results


def _repeat_notes(spec: ModelSpec, repeat: int, agreed: bool, what: str) -> list[str]:
    """Why repeats that agree may say little: the judge doesn't sample, or may not."""
    if repeat < 2:
        return []
    if spec.temperature == 0 and what == "score":
        note = ("this judge runs at temperature 0, so repeats are expected to agree; a spread of 0 says little "
                "about how the score would move with small changes to the output.")
    elif spec.temperature == 0:
        note = (f"this judge runs at temperature 0, so repeats are expected to agree; the same {what} every time "
                "says little about how it would move with small changes to the outputs.")
    elif agreed and spec.temperature is None:
        note = (f"every repeat gave the same {what}. The judge's model entry sets no temperature, so the server's "
                "default applies: if that is 0 (or the server ignores seeds), repeats are expected to agree and "
                "this says little; set temperature on the entry to know what you are measuring.")
    else:
        return []
    return [note]


def try_score(spec: ModelSpec, rub: Rubric, sample: Sample, output: str, repeat: int,
              retries: int = JUDGE_RETRIES) -> ScoreTrial:
    """Ask the judge `repeat` times to score `output` on `sample` with a scoring rubric (each verdict asked again
    up to `retries` times when it can't be parsed, as in a run)."""
    from assay.judge import judge_messages

    messages = judge_messages(rub, sample, output)
    results = asyncio.run(_judge_repeatedly(spec, rub, messages, repeat, retries))
    scores = [r["score"] for r in results if r["ok"]]
    summary: dict[str, Any] = {"n": len(results), "scored": len(scores), "failed": len(results) - len(scores)}
    if scores:
        summary.update(mean=statistics.fmean(scores), min=min(scores), max=max(scores),
                       spread=max(scores) - min(scores))
    notes = _repeat_notes(spec, repeat, len(scores) > 1 and summary["spread"] == 0, "score")
    return ScoreTrial(messages, results, summary, notes)


def try_pair(spec: ModelSpec, rub: Rubric, sample: Sample, output_a: str, output_b: str, repeat: int,
             retries: int = JUDGE_RETRIES) -> PairTrial:
    """Ask a pairwise judge `repeat` times to compare `output_a` with `output_b`, each time in both orders (each
    verdict asked again up to `retries` times when it can't be parsed, as in a run)."""
    from assay.judge import pairwise_messages

    messages = {"ab": pairwise_messages(rub, sample, output_a, output_b),
                "ba": pairwise_messages(rub, sample, output_b, output_a)}
    results = asyncio.run(_judge_pairs(spec, rub, messages, repeat, retries))
    verdicts = [r[order] for r in results for order in ORDERS]
    parsed = [v for v in verdicts if v["ok"]]
    pairs = [r for r in results if r["flipped"] is not None]
    summary: dict[str, Any] = {
        "n": repeat, "calls": len(verdicts), "parsed": len(parsed), "failed": len(verdicts) - len(parsed),
        "preferred": {k: sum(v["preferred"] == k for v in parsed) for k in ("output", "output_b", "tie")},
        "pairs": len(pairs), "flipped": sum(bool(r["flipped"]) for r in pairs)}
    notes = _repeat_notes(spec, repeat, len(parsed) > 2 and len({v["preferred"] for v in parsed}) == 1, "verdict")
    return PairTrial(messages, results, summary, notes)
