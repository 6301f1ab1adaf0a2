"""`ModelSpec`: one model entry (a candidate or the judge), and its identity for caching."""

from __future__ import annotations

import hashlib
import json
import re
from functools import cached_property
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class Price(BaseModel):
    """Price in currency units per million tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_per_mtok: float = Field(0.0, ge=0)
    output_per_mtok: float = Field(0.0, ge=0)

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float:
        return ((input_tokens or 0) * self.input_per_mtok + (output_tokens or 0) * self.output_per_mtok) / 1e6


class ModelSpec(BaseModel):
    """A model entry. The API key is never here: only the *name* of the environment variable holding it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    provider: str = "openai"
    model: str = ""
    base_url: str | None = None
    api_key_env: str | None = None
    # Sampling: what changes the output, so part of the identity.
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, gt=0)
    top_p: float | None = Field(None, gt=0, le=1)
    seed: int | None = None
    system_prompt: str | None = None
    # How structured output is asked of an OpenAI-compatible server.
    structured_output: Literal["json_schema", "json_object", "none"] = "json_schema"
    # Provider-specific settings that change outputs (e.g. a GGUF path for `local`).
    options: dict[str, Any] = Field(default_factory=dict)
    # Limits and accounting: don't change outputs, so not in the identity.
    concurrency: int = Field(8, ge=1, le=1024)
    rpm: float | None = Field(None, gt=0)
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(6, ge=0, le=20)
    retry_backoff_s: float = Field(1.0, ge=0, le=60, description="first retry delay; doubles each retry")
    price: Price | None = None

    @field_validator("label")
    @classmethod
    def _valid_label(cls, v: str) -> str:
        if not _LABEL.match(v):
            raise ValueError("must be 1-64 letters, digits, '-', '_', '.', ':' starting with a letter or digit")
        return v

    @field_validator("base_url")
    @classmethod
    def _valid_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parsed = urlparse(v)
        try:
            _ = parsed.port  # raises for a port that isn't a number from 0 to 65535
        except ValueError:
            raise ValueError(f"{v!r} has an invalid port") from None
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"must be a full URL starting with http:// or https:// and naming a host, such as "
                             f"http://localhost:8000/v1; got {v!r}")
        return v

    @cached_property
    def identity(self) -> str:
        """Hash of everything that changes this model's output: the key of its cached calls."""
        payload = {
            "provider": self.provider, "model": self.model, "base_url": (self.base_url or "").rstrip("/"),
            "temperature": self.temperature, "max_tokens": self.max_tokens, "top_p": self.top_p,
            "seed": self.seed, "system_prompt": self.system_prompt, "structured_output": self.structured_output,
            "options": self.options,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float | None:
        return self.price.cost(input_tokens, output_tokens) if self.price else None
