"""The pipeline of one run: every sample through every candidate, every output to the judge per rubric.

Candidates and the judge each have a pool of workers as large as their concurrency limit. An output is handed
to the judge as soon as it exists (generation and judging overlap), through a bounded queue, so memory stays
flat however large the dataset. Items already done in this run (a resume) are skipped.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Iterator

from assay.config.models import ModelSpec
from assay.config.spec import EvalSpec
from assay.dataset.records import Sample
from assay.engine.calls import ModelCaller
from assay.engine.progress import RunProgress
from assay.errors import ProviderError, RubricError
from assay.judge import VerdictError, judge_messages, parse_verdict, verdict_schema
from assay.providers.base import CompletionRequest
from assay.rubric import Rubric
from assay.store.store import Store, StoreWriter, now


def generation_messages(spec: ModelSpec, sample: Sample) -> list[dict[str, Any]]:
    """The candidate's messages: the sample's context, with the entry's system prompt (if any) in place of its own."""
    messages = [m.to_api() for m in sample.context]
    if spec.system_prompt is not None:
        messages = [{"role": "system", "content": spec.system_prompt}] + [m for m in messages if m["role"] != "system"]
    return messages


@dataclass(frozen=True, slots=True)
class _JudgeJob:
    sample: Sample
    candidate: str
    output: str
    rubric: Rubric
    repeat: int


class RunEngine:
    def __init__(self, *, store: Store, writer: StoreWriter, run_id: str, spec: EvalSpec,
                 callers: dict[str, ModelCaller], progress: RunProgress,
                 done_outputs: dict[tuple[str, str], str], done_judgments: set[tuple[str, str, str, str, int]]):
        self.store = store
        self.writer = writer
        self.run_id = run_id
        self.spec = spec
        self.callers = callers
        self.progress = progress
        self.done_outputs = done_outputs
        self.done_judgments = done_judgments
        self.judge = spec.judge
        self.schemas = {r.name: verdict_schema(r) for r in spec.rubrics}

    async def execute(self, samples: Iterator[Sample]) -> None:
        judge_workers = self.judge.concurrency
        queue: asyncio.Queue[_JudgeJob | None] = asyncio.Queue(maxsize=judge_workers * 2)
        # One shared iterator per candidate would re-read the dataset per candidate; instead each sample is
        # fanned out to a per-candidate queue, read once.
        cand_queues = {c.label: asyncio.Queue(maxsize=c.concurrency * 2) for c in self.spec.candidates}

        async def feed() -> None:
            for sample in samples:
                for c in self.spec.candidates:
                    await cand_queues[c.label].put(sample)
            for c in self.spec.candidates:
                for _ in range(c.concurrency):
                    await cand_queues[c.label].put(None)

        async def generate_worker(candidate: ModelSpec) -> None:
            q = cand_queues[candidate.label]
            while (sample := await q.get()) is not None:
                output = await self._generate(candidate, sample)
                for rubric in self.spec.rubrics:
                    job = _JudgeJob(sample, candidate.label, output or "", rubric, 0)
                    if output is None:
                        self._judgment_failed(job, "no output to judge: the candidate's generation failed")
                    elif (sample.id, candidate.label, rubric.name, self.judge.label, 0) not in self.done_judgments:
                        await queue.put(job)

        async def judge_worker() -> None:
            while (job := await queue.get()) is not None:
                await self._judge(job)

        judges = [asyncio.create_task(judge_worker()) for _ in range(judge_workers)]
        try:
            generators = [generate_worker(c) for c in self.spec.candidates for _ in range(c.concurrency)]
            await asyncio.gather(feed(), *generators)
            for _ in judges:
                await queue.put(None)
            await asyncio.gather(*judges)
        finally:
            for task in judges:
                task.cancel()

    async def _generate(self, candidate: ModelSpec, sample: Sample) -> str | None:
        counts = self.progress.for_candidate(candidate.label)
        done = self.done_outputs.get((sample.id, candidate.label))
        if done is not None:
            return done
        request = CompletionRequest(messages=generation_messages(candidate, sample), tools=sample.tools,
                                    sample=sample)
        row: dict[str, Any] = {"run_id": self.run_id, "sample_id": sample.id, "candidate": candidate.label,
                               "created_at": now()}
        try:
            completion, key, cached = await self.callers[candidate.label].complete(request, purpose="generate")
        except ProviderError as e:
            counts.outputs_failed += 1
            self.writer.put("outputs", {**row, "status": "failed", "text": None, "error": str(e),
                                        "request_hash": None, "input_tokens": None, "output_tokens": None,
                                        "latency_ms": None, "cost": None, "cached": False})
            return None
        counts.outputs_done += 1
        self.writer.put("outputs", {
            **row, "status": "done", "text": completion.text, "error": None, "request_hash": key,
            "input_tokens": completion.input_tokens, "output_tokens": completion.output_tokens,
            "latency_ms": completion.latency_ms, "cached": cached,
            "cost": None if cached else candidate.cost(completion.input_tokens, completion.output_tokens)})
        return completion.text

    async def _judge(self, job: _JudgeJob) -> None:
        try:
            messages = judge_messages(job.rubric, job.sample, job.output)
        except RubricError as e:
            self._judgment_failed(job, str(e))
            return
        request = CompletionRequest(messages=messages, json_schema=self.schemas[job.rubric.name])
        caller = self.callers[self.judge.label]
        problems: list[str] = []
        raw = None
        tokens_in = tokens_out = 0
        latency = 0.0
        for attempt in range(1 + self.spec.settings.judge_retries):
            try:
                completion, key, cached = await caller.complete(
                    request, purpose="judge", extra={"repeat": job.repeat, "attempt": attempt})
            except ProviderError as e:
                self._judgment_failed(job, f"judge call failed: {e}", raw=raw)
                return
            tokens_in += completion.input_tokens or 0
            tokens_out += completion.output_tokens or 0
            latency += completion.latency_ms
            repeated = completion.text == raw
            raw = completion.text
            try:
                verdict = parse_verdict(completion.text, job.rubric)
            except VerdictError as e:
                problems.append(f"try {attempt + 1}: {e}")
                if repeated:  # a deterministic judge gave the same answer again: more tries can't help
                    problems.append("the judge repeated the same answer; stopped retrying")
                    break
                continue
            self.progress.for_candidate(job.candidate).judgments_done += 1
            self._write_judgment(job, status="done", score=verdict.score, reasoning=verdict.reasoning, raw=raw,
                                 error=None, key=key, cached=cached, tokens=(tokens_in, tokens_out), latency=latency)
            return
        self._judgment_failed(job, "unusable verdict: " + "; ".join(problems), raw=raw,
                              tokens=(tokens_in, tokens_out), latency=latency)

    def _judgment_failed(self, job: _JudgeJob, error: str, *, raw: str | None = None,
                         tokens: tuple[int, int] = (0, 0), latency: float = 0.0) -> None:
        self.progress.for_candidate(job.candidate).judgments_failed += 1
        self._write_judgment(job, status="failed", score=None, reasoning=None, raw=raw, error=error, key=None,
                             cached=False, tokens=tokens, latency=latency)

    def _write_judgment(self, job: _JudgeJob, *, status: str, score: float | None, reasoning: str | None,
                        raw: str | None, error: str | None, key: str | None, cached: bool,
                        tokens: tuple[int, int], latency: float) -> None:
        self.writer.put("judgments", {
            "run_id": self.run_id, "sample_id": job.sample.id, "candidate": job.candidate,
            "rubric": job.rubric.name, "judge": self.judge.label, "repeat": job.repeat,
            "rubric_version": job.rubric.version, "status": status, "score": score, "reasoning": reasoning,
            "raw": raw, "error": error, "request_hash": key, "input_tokens": tokens[0] or None,
            "output_tokens": tokens[1] or None, "latency_ms": latency or None, "cached": cached,
            "cost": None if cached else self.judge.cost(tokens[0], tokens[1]), "created_at": now()})
