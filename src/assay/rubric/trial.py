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
from assay.errors import DatasetError, ProviderError, RubricError
from assay.rubric.model import Rubric

# In a pairwise test, the two outputs are named by their options; the orders by what is shown as response A.
PAIR_OUTPUTS = {"ab": {"A": "output", "B": "output_b"}, "ba": {"A": "output_b", "B": "output"}}
ORDERS = ("ab", "ba")


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


async def _ask_all(spec: ModelSpec, calls: Sequence[tuple[Any, Callable[[str], Any]]]) -> list[dict[str, Any]]:
    """Ask the judge every (request, parse) at once (within its concurrency): {ok, verdict | error, raw} each."""
    from assay.engine.oneshot import call_once
    from assay.judge import VerdictError

    gate = asyncio.Semaphore(spec.concurrency)

    async def one(request: Any, parse: Callable[[str], Any]) -> dict[str, Any]:
        async with gate:
            try:
                completion = await call_once(spec, request)
            except ProviderError as e:
                return {"ok": False, "error": f"call failed: {e}", "raw": None}
        try:
            verdict = parse(completion.text)
        except VerdictError as e:
            return {"ok": False, "error": f"unparseable verdict: {e}", "raw": completion.text}
        return {"ok": True, "verdict": verdict, "raw": completion.text}

    return list(await asyncio.gather(*(one(request, parse) for request, parse in calls)))


def _seeds(spec: ModelSpec, k: int) -> list[int | None]:
    """The seed of each repeat, as in a run: repeat 0 is the judge's ordinary request, later repeats ask with
    distinct seeds so a sampling judge gives independent draws rather than K copies of one answer."""
    from assay.engine.runner import verdict_seed

    return [verdict_seed(spec, i, 0) for i in range(k)]


async def _judge_repeatedly(spec: ModelSpec, rub: Rubric, messages: list[dict[str, Any]],
                            k: int) -> list[dict[str, Any]]:
    from assay.judge import parse_verdict, verdict_schema
    from assay.providers import CompletionRequest

    schema = verdict_schema(rub)
    seeds = _seeds(spec, k)
    answers = await _ask_all(spec, [(CompletionRequest(messages=messages, json_schema=schema, seed=seed),
                                     lambda text: parse_verdict(text, rub)) for seed in seeds])
    results = []
    for i, (seed, a) in enumerate(zip(seeds, answers), 1):
        if a["ok"]:
            results.append({"attempt": i, "seed": seed, "ok": True, "score": a["verdict"].score,
                            "reasoning": a["verdict"].reasoning, "raw": a["raw"]})
        else:
            results.append({"attempt": i, "seed": seed, "ok": False, "error": a["error"], "raw": a["raw"]})
    return results


async def _judge_pairs(spec: ModelSpec, messages: dict[str, list[dict[str, Any]]], k: int) -> list[dict[str, Any]]:
    """Each repeat asks for both orders (--output shown as response A, then --output-b shown as response A),
    with the repeat's seed, as a run does. A verdict is reported by position and by the output it prefers."""
    from assay.judge import pairwise_schema, parse_pair_verdict
    from assay.providers import CompletionRequest

    schema = pairwise_schema()
    seeds = _seeds(spec, k)
    calls = [(CompletionRequest(messages=messages[order], json_schema=schema, seed=seed), parse_pair_verdict)
             for seed in seeds for order in ORDERS]
    answers = await _ask_all(spec, calls)
    results = []
    for i, seed in enumerate(seeds):
        entry: dict[str, Any] = {"attempt": i + 1, "seed": seed}
        for j, order in enumerate(ORDERS):
            a = answers[2 * i + j]
            if a["ok"]:
                winner = a["verdict"].winner
                entry[order] = {"ok": True, "winner": winner, "preferred": PAIR_OUTPUTS[order].get(winner, "tie"),
                                "reasoning": a["verdict"].reasoning, "raw": a["raw"]}
            else:
                entry[order] = {"ok": False, "error": a["error"], "raw": a["raw"]}
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


def try_score(spec: ModelSpec, rub: Rubric, sample: Sample, output: str, repeat: int) -> ScoreTrial:
    """Ask the judge `repeat` times to score `output` on `sample` with a scoring rubric."""
    from assay.judge import judge_messages

    messages = judge_messages(rub, sample, output)
    results = asyncio.run(_judge_repeatedly(spec, rub, messages, repeat))
    scores = [r["score"] for r in results if r["ok"]]
    summary: dict[str, Any] = {"n": len(results), "scored": len(scores), "failed": len(results) - len(scores)}
    if scores:
        summary.update(mean=statistics.fmean(scores), min=min(scores), max=max(scores),
                       spread=max(scores) - min(scores))
    notes = _repeat_notes(spec, repeat, len(scores) > 1 and summary["spread"] == 0, "score")
    return ScoreTrial(messages, results, summary, notes)


def try_pair(spec: ModelSpec, rub: Rubric, sample: Sample, output_a: str, output_b: str, repeat: int) -> PairTrial:
    """Ask a pairwise judge `repeat` times to compare `output_a` with `output_b`, each time in both orders."""
    from assay.judge import pairwise_messages

    messages = {"ab": pairwise_messages(rub, sample, output_a, output_b),
                "ba": pairwise_messages(rub, sample, output_b, output_a)}
    results = asyncio.run(_judge_pairs(spec, messages, repeat))
    verdicts = [r[order] for r in results for order in ORDERS]
    parsed = [v for v in verdicts if v["ok"]]
    pairs = [r for r in results if r["flipped"] is not None]
    summary: dict[str, Any] = {
        "n": repeat, "calls": len(verdicts), "parsed": len(parsed), "failed": len(verdicts) - len(parsed),
        "preferred": {k: sum(v["preferred"] == k for v in parsed) for k in ("output", "output_b", "tie")},
        "pairs": len(pairs), "flipped": sum(bool(r["flipped"]) for r in pairs)}
    notes = _repeat_notes(spec, repeat, len(parsed) > 2 and len({v["preferred"] for v in parsed}) == 1, "verdict")
    return PairTrial(messages, results, summary, notes)
