"""Live counters of a run, read by whatever shows progress. Updating them costs a few additions per item."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CandidateProgress:
    outputs_done: int = 0
    outputs_failed: int = 0
    judgments_done: int = 0
    judgments_failed: int = 0


@dataclass
class RunProgress:
    run_id: str
    outputs_total: int
    judgments_total: int
    pairs_total: int = 0
    candidates: dict[str, CandidateProgress] = field(default_factory=dict)
    pairs_done: int = 0
    pairs_failed: int = 0
    calls: int = 0
    cached: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    has_cost: bool = False

    def for_candidate(self, label: str) -> CandidateProgress:
        return self.candidates.setdefault(label, CandidateProgress())

    @property
    def outputs_finished(self) -> int:
        return sum(c.outputs_done + c.outputs_failed for c in self.candidates.values())

    @property
    def judgments_finished(self) -> int:
        return sum(c.judgments_done + c.judgments_failed for c in self.candidates.values())
