"""The pipeline of one run: every sample through every candidate, every output to every judge per rubric.

Candidates and judges each have a pool of workers as large as their concurrency limit. An output is handed
to the judges as soon as it exists (generation and judging overlap), through bounded queues, so memory stays
flat however large the dataset. Pairwise rubrics wait for every candidate's output of a sample, then judge
each pair in both orders. The items come from the run's `WorkPlan`; those already done (a resume) are skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from assay.config.models import ModelSpec
from assay.config.spec import EvalSpec
from assay.dataset.records import Sample
from assay.engine.asking import Tries, ask_verdict
from assay.engine.calls import ModelCaller
from assay.engine.plan import PairItem, WorkPlan
from assay.engine.progress import RunProgress
from assay.errors import ProviderError, RubricError
from assay.judge import (
    PairVerdict,
    judge_messages,
    pairwise_messages,
    pairwise_schema,
    parse_pair_verdict,
    parse_verdict,
    verdict_schema,
    weigh_pair_verdict,
)
from assay.providers.base import Completion, CompletionRequest
from assay.rubric import Rubric
from assay.store.store import NO_OUTPUT_ERROR, NO_OUTPUTS_ERROR, SKIPPED, StoreWriter, now


def generation_messages(spec: ModelSpec, sample: Sample) -> list[dict[str, Any]]:
    """The candidate's messages: the sample's context, with the entry's system prompt (if any) in place of its own."""
    messages = [m.to_api() for m in sample.context]
    if spec.system_prompt is not None:
        messages = [{"role": "system", "content": spec.system_prompt}] + [m for m in messages if m["role"] != "system"]
    return messages


# How many alternatives per token a weighted verdict asks for: the answers and their spellings fit well within.
TOP_LOGPROBS = 10


@dataclass(frozen=True, slots=True)
class _JudgeJob:
    sample: Sample
    candidate: str
    output: str
    rubric: Rubric
    judge: ModelSpec
    repeat: int


@dataclass(frozen=True, slots=True)
class _PairJob:
    sample: Sample
    item: PairItem    # which pair, in which order (the plan's); `order` says which is shown first
    first: str        # the output shown as response A
    second: str

    @property
    def rubric(self) -> Rubric:
        return self.item.rubric

    @property
    def judge(self) -> ModelSpec:
        return self.item.judge

    def outcome(self, verdict: PairVerdict) -> float:
        """model_a's result in this order: response A's preference when model_a was shown first."""
        return verdict.preference if self.item.order == "ab" else 1.0 - verdict.preference

    def label(self, position: str) -> str:
        """The candidate shown at a position ("A" or "B"), or "tie"."""
        a, b = (self.item.model_a, self.item.model_b) if self.item.order == "ab" else \
            (self.item.model_b, self.item.model_a)
        return {"A": a, "B": b}.get(position, "tie")


class RunEngine:
    def __init__(self, *, writer: StoreWriter, run_id: str, spec: EvalSpec,
                 callers: dict[str, ModelCaller], progress: RunProgress,
                 done_outputs: dict[tuple[str, str], str], done_judgments: set[tuple[str, str, str, str, int]],
                 done_pairwise: set[tuple[str, str, str, str, str, str, int]] | None = None):
        self.writer = writer
        self.run_id = run_id
        self.spec = spec
        self.callers = callers
        self.progress = progress
        self.done_outputs = done_outputs
        self.done_judgments = done_judgments
        self.done_pairwise = done_pairwise or set()
        self.plan = WorkPlan(spec)
        self.pairwise = any(r.pairwise for r in spec.rubrics)
        self.schemas = {r.name: verdict_schema(r) if not r.pairwise else pairwise_schema(r) for r in spec.rubrics}
        # Outputs of a sample gathered until every candidate has answered (pairwise rubrics only).
        self._gathered: dict[str, dict[str, str | None]] = {}

    async def execute(self, samples: Iterator[Sample]) -> None:
        judge_queues: dict[str, asyncio.Queue[_JudgeJob | _PairJob | None]] = {
            j.label: asyncio.Queue(maxsize=j.concurrency * 2) for j in self.spec.judges}
        cand_queues: dict[str, asyncio.Queue[Sample | None]] = {
            c.label: asyncio.Queue(maxsize=c.concurrency * 2) for c in self.spec.candidates}

        async def feed() -> None:
            # Each sample is read once and fanned out to every candidate's queue.
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
                async for job in self._judge_jobs(sample, candidate.label, output):
                    await judge_queues[job.judge.label].put(job)
                if self.pairwise:
                    async for pair in self._pair_jobs(sample, candidate.label, output):
                        await judge_queues[pair.judge.label].put(pair)

        async def judge_worker(label: str) -> None:
            q = judge_queues[label]
            while (job := await q.get()) is not None:
                if isinstance(job, _PairJob):
                    await self._judge_pair(job)
                else:
                    await self._judge(job)

        async def produce() -> None:
            await asyncio.gather(feed(), *(generate_worker(c) for c in self.spec.candidates
                                           for _ in range(c.concurrency)))
            for j in self.spec.judges:
                for _ in range(j.concurrency):
                    await judge_queues[j.label].put(None)

        tasks = [asyncio.create_task(produce())]
        tasks += [asyncio.create_task(judge_worker(j.label)) for j in self.spec.judges for _ in range(j.concurrency)]
        try:
            # A worker that fails unexpectedly must stop the run, not leave the others waiting on its queue.
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- planning the judge's work ------------------------------------------------------------------------

    async def _judge_jobs(self, sample: Sample, candidate: str, output: str | None) -> AsyncIterator[_JudgeJob]:
        for item in self.plan.judgment_items:
            if (sample.id, candidate, item.rubric.name, item.judge.label, item.repeat) in self.done_judgments:
                continue
            job = _JudgeJob(sample, candidate, output or "", item.rubric, item.judge, item.repeat)
            if output is None:
                await self._judgment_skipped(job)
            else:
                yield job

    async def _pair_jobs(self, sample: Sample, candidate: str, output: str | None) -> AsyncIterator[_PairJob]:
        gathered = self._gathered.setdefault(sample.id, {})
        gathered[candidate] = output
        if len(gathered) < len(self.spec.candidates):
            return
        del self._gathered[sample.id]
        for item in self.plan.pair_items:
            a, b = item.model_a, item.model_b
            if (sample.id, item.rubric.name, item.judge.label, a, b, item.order, item.repeat) in self.done_pairwise:
                continue
            first, second = (a, b) if item.order == "ab" else (b, a)
            job = _PairJob(sample, item, gathered[first] or "", gathered[second] or "")
            if gathered[a] is None or gathered[b] is None:
                await self._pair_skipped(job)
            else:
                yield job

    # -- generation ---------------------------------------------------------------------------------------

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
            await self.writer.put("outputs", {**row, "status": "failed", "text": None, "error": str(e),
                                        "request_hash": None, "input_tokens": None, "output_tokens": None,
                                        "latency_ms": None, "cost": None, "cached": False})
            return None
        counts.outputs_done += 1
        await self.writer.put("outputs", {
            **row, "status": "done", "text": completion.text, "error": None, "request_hash": key,
            "input_tokens": completion.input_tokens, "output_tokens": completion.output_tokens,
            "latency_ms": completion.latency_ms, "cached": cached,
            "cost": None if cached else candidate.cost(completion.input_tokens, completion.output_tokens)})
        return completion.text

    # -- judging ------------------------------------------------------------------------------------------

    async def _ask(self, judge: ModelSpec, messages: list[dict[str, Any]], schema: dict[str, Any], repeat: int,
                   parse: Callable[[Completion], Any], attempts: Tries,
                   top_logprobs: int | None = None) -> tuple[Any, str | None, bool, str | None]:
        """Ask the judge until its answer parses (`asking.ask_verdict`, as `assay rubric test` does)."""
        return await ask_verdict(self.callers[judge.label], judge, messages, schema, repeat, parse, attempts,
                                 self.spec.settings.judge_retries, top_logprobs=top_logprobs)

    async def _judge(self, job: _JudgeJob) -> None:
        attempts = Tries()
        try:
            messages = judge_messages(job.rubric, job.sample, job.output)
        except RubricError as e:
            await self._judgment_failed(job, str(e))
            return
        verdict, key, cached, error = await self._ask(job.judge, messages, self.schemas[job.rubric.name], job.repeat,
                                                      lambda answer: parse_verdict(answer.text, job.rubric), attempts)
        if error is not None:
            await self._judgment_failed(job, error, attempts)
            return
        self.progress.for_candidate(job.candidate).judgments_done += 1
        await self._write_judgment(job, "done", verdict.score, verdict.reasoning, None, key, cached, attempts)

    async def _judge_pair(self, job: _PairJob) -> None:
        attempts = Tries()
        try:
            messages = pairwise_messages(job.rubric, job.sample, job.first, job.second)
        except RubricError as e:
            await self._pair_failed(job, str(e), attempts)
            return
        weighted = bool(job.item.options.weighted)

        def parse(answer: Completion) -> PairVerdict:
            verdict = parse_pair_verdict(answer.text, job.rubric)
            return weigh_pair_verdict(verdict, answer.text, answer.logprobs) if weighted else verdict

        verdict, key, cached, error = await self._ask(job.judge, messages, self.schemas[job.rubric.name],
                                                      job.item.repeat, parse, attempts,
                                                      top_logprobs=TOP_LOGPROBS if weighted else None)
        if error is not None:
            await self._pair_failed(job, error, attempts)
            return
        self.progress.pairs_done += 1
        await self._write_pair(job, "done", verdict, None, key, cached, attempts)

    # -- records ------------------------------------------------------------------------------------------

    async def _judgment_failed(self, job: _JudgeJob, error: str, attempts: Tries | None = None) -> None:
        self.progress.for_candidate(job.candidate).judgments_failed += 1
        await self._write_judgment(job, "failed", None, None, error, None, False, attempts or Tries())

    async def _judgment_skipped(self, job: _JudgeJob) -> None:
        """Nothing to judge: the candidate's generation failed. Not scored, and kept apart from failed verdicts."""
        self.progress.for_candidate(job.candidate).judgments_failed += 1
        await self._write_judgment(job, SKIPPED, None, None, f"{NO_OUTPUT_ERROR}: the candidate's generation failed",
                                   None, False, Tries())

    async def _write_judgment(self, job: _JudgeJob, status: str, score: float | None, reasoning: str | None,
                        error: str | None, key: str | None, cached: bool, attempts: Tries) -> None:
        await self.writer.put("judgments", {
            "run_id": self.run_id, "sample_id": job.sample.id, "candidate": job.candidate,
            "rubric": job.rubric.name, "judge": job.judge.label, "repeat": job.repeat,
            "rubric_version": job.rubric.version, "status": status, "score": score, "reasoning": reasoning,
            "error": error, "request_hash": key, "cached": cached, "created_at": now(),
            **self._usage(job.judge, attempts, cached)})

    async def _pair_failed(self, job: _PairJob, error: str, attempts: Tries) -> None:
        self.progress.pairs_failed += 1
        await self._write_pair(job, "failed", None, error, None, False, attempts)

    async def _pair_skipped(self, job: _PairJob) -> None:
        """Nothing to compare: a candidate's generation failed. Not a verdict, and kept apart from failed ones."""
        self.progress.pairs_failed += 1
        await self._write_pair(job, SKIPPED, None, f"{NO_OUTPUTS_ERROR}: a candidate's generation failed", None,
                               False, Tries())

    async def _write_pair(self, job: _PairJob, status: str, verdict: PairVerdict | None, error: str | None,
                    key: str | None, cached: bool, attempts: Tries) -> None:
        item = job.item
        await self.writer.put("pairwise", {
            "run_id": self.run_id, "sample_id": job.sample.id, "rubric": item.rubric.name, "judge": item.judge.label,
            "model_a": item.model_a, "model_b": item.model_b, "order": item.order, "repeat": item.repeat,
            "rubric_version": item.rubric.version, "status": status,
            # winner: the better candidate by outcome (or "tie"); position: the side the judge's answer favours.
            "winner": job.label(verdict.winner) if verdict else None,
            "position": verdict.position if verdict else None,
            "outcome": job.outcome(verdict) if verdict else None,
            "reasoning": verdict.reasoning if verdict else None, "error": error, "request_hash": key,
            "cached": cached, "created_at": now(), **self._usage(item.judge, attempts, cached)})

    @staticmethod
    def _usage(judge: ModelSpec, attempts: Tries, cached: bool) -> dict[str, Any]:
        return {"raw": attempts.raw, "input_tokens": attempts.tokens_in or None,
                "output_tokens": attempts.tokens_out or None, "latency_ms": attempts.latency or None,
                "cost": None if cached else judge.cost(attempts.tokens_in, attempts.tokens_out)}
