"""Immutable records of a dataset: a `Message`, a `Sample` (one row), and the content hash of a list of samples."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]
DatasetKind = Literal["eval", "train"]


class Message(BaseModel):
    """One chat message, OpenAI-shaped. `content` is a string or a list of content parts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        """The message's text: the string content, or its text parts joined."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(str(p.get("text", "")) for p in self.content if p.get("type", "text") == "text")

    def to_api(self) -> dict[str, Any]:
        """The message as an OpenAI chat-completions message (fields that are unset are left out)."""
        return self.model_dump(exclude_none=True)


class Sample(BaseModel):
    """One row of a dataset.

    `context` is what a candidate is sent; `reference` is the expected or original response (the last assistant
    turn of a chat row); `outputs` holds pre-generated outputs by label, for judging captured outputs without
    re-generating them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    context: tuple[Message, ...]
    reference: str | None = None
    outputs: dict[str, str] = Field(default_factory=dict)
    tools: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def canonical_json(self) -> str:
        """A stable serialization: the basis of the dataset version hash and of storage."""
        return json.dumps(self.model_dump(mode="json", exclude_none=True), sort_keys=True, ensure_ascii=False,
                          separators=(",", ":"))


def content_hash(samples: list[Sample]) -> str:
    """Version of a dataset: sha256 of its normalized rows in order, shortened to 16 hex digits."""
    h = hashlib.sha256()
    for s in samples:
        h.update(s.canonical_json().encode())
        h.update(b"\n")
    return h.hexdigest()[:16]
