"""`echo`: an example assay provider plug-in that calls no model.

* A generation request is answered with the last user message reversed (after an optional `options.prefix`).
* A request with a `json_schema` (a judge's verdict) is answered with a valid verdict at the top of the
  schema's score range.

The class itself is the factory registered under the `assay.providers` entry point group: assay calls
`EchoProvider(spec)` with the model entry, then `await provider.complete(request)` for every call, and
`await provider.aclose()` once at the end.
"""

from __future__ import annotations

import json
from typing import Any

from assay.config.models import ModelSpec
from assay.errors import FatalProviderError, SpecError
from assay.providers import Completion, CompletionRequest

__all__ = ["EchoProvider"]


def _text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


class EchoProvider:
    def __init__(self, spec: ModelSpec) -> None:
        # Validate the entry here: assay builds every provider before a run starts, so a mistake is reported
        # once, up front, as a clean error naming the entry (SpecError), not as a failure of every call.
        prefix = spec.options.get("prefix", "")
        if not isinstance(prefix, str):
            raise SpecError(f"model {spec.label!r}: options.prefix must be a string")
        self.prefix = prefix

    async def complete(self, request: CompletionRequest) -> Completion:
        users = [m for m in request.messages if m.get("role") == "user"]
        if not users:
            # Retrying would not help: a FatalProviderError fails the item at once, with this message.
            raise FatalProviderError("echo: the request has no user message")
        prompt = _text(users[-1].get("content"))
        if request.json_schema is not None:
            score = request.json_schema.get("properties", {}).get("score", {})
            top = score.get("maximum", 10)
            answer = json.dumps({"reasoning": "The echo provider approves of everything.", "score": top})
        else:
            answer = self.prefix + prompt[::-1]
        return Completion(text=answer, input_tokens=len(prompt.split()), output_tokens=len(answer.split()))

    async def aclose(self) -> None:
        return None  # nothing to release; an HTTP provider closes its session here
