"""The `dataset` provider: answers with the row's pre-generated output, so captured outputs are judged as they are.

`model` names the key in each row's `outputs` (default: the entry's label). No model call is made.
"""

from __future__ import annotations

from assay.config.models import ModelSpec
from assay.errors import FatalProviderError
from assay.providers.base import Completion, CompletionRequest


class DatasetProvider:
    calls_a_model = False  # the engine neither caches nor shares its answers

    def __init__(self, spec: ModelSpec) -> None:
        self.key = spec.model or spec.label

    async def complete(self, request: CompletionRequest) -> Completion:
        sample = request.sample
        if sample is None:
            raise FatalProviderError("the dataset provider can only answer for a dataset row (not as a judge)")
        if self.key not in sample.outputs:
            have = ", ".join(sorted(sample.outputs)) or "none"
            raise FatalProviderError(f"row {sample.id!r} has no pre-generated output {self.key!r} (it has: {have})")
        return Completion(text=sample.outputs[self.key], billable=False)

    async def aclose(self) -> None:
        return None
