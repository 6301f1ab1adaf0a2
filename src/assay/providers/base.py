"""The provider interface: one async `complete` call, with small immutable request and response records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from assay.dataset.records import Sample


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """What to ask a model. `json_schema` asks for structured output (the judge's verdict)."""

    messages: list[dict[str, Any]]
    json_schema: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    # Overrides the model entry's seed: repeated judgments of one output ask with distinct seeds.
    seed: int | None = None
    # Only the `dataset` provider reads this: it answers from the row's pre-generated outputs.
    sample: Sample | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float = 0.0
    # False for answers that involved no model call (pre-generated outputs): nothing to cache or count.
    billable: bool = True


@runtime_checkable
class Provider(Protocol):
    async def complete(self, request: CompletionRequest) -> Completion:
        """Answer one request, or raise RetryableError / FatalProviderError."""
        ...

    async def aclose(self) -> None:
        ...
