"""OpenAI-compatible chat completions over HTTP (OpenAI, gateways, vLLM, Ollama, llama.cpp server, ...).

Speaks the API directly with aiohttp: an SDK costs several times more CPU per call than the whole budget.
Set ASSAY_OFFLINE=1 to refuse any host outside loopback (the test suite does, so no test reaches a real API).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import aiohttp

from assay.config.models import ModelSpec
from assay.errors import RetryableError, SpecError, UnreachableError
from assay.providers.base import (
    Completion,
    CompletionRequest,
    TokenLogprob,
    parse_retry_after,
    probe,
    refuse_offline,
    status_error,
)

__all__ = ["OpenAIProvider", "parse_retry_after"]

OPENAI_URL = "https://api.openai.com/v1"


def _error_message(body: bytes) -> str:
    try:
        data = json.loads(body)
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message") or err)
        return str(err)
    except (ValueError, AttributeError):
        return body[:300].decode("utf-8", "replace")


def _token(entry: Any, top: bool) -> TokenLogprob | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("token"), str):
        return None
    logprob = entry.get("logprob")
    if isinstance(logprob, bool) or not isinstance(logprob, (int, float)):
        return None
    raw = entry.get("bytes")
    data = bytes(raw) if isinstance(raw, list) and all(isinstance(b, int) and 0 <= b < 256 for b in raw) else None
    alternatives = entry.get("top_logprobs") if top else None
    return TokenLogprob(entry["token"], float(logprob), data, tuple(
        t for t in (_token(x, False) for x in alternatives or ()) if t is not None))


def _logprobs(choice: Any) -> tuple[TokenLogprob, ...] | None:
    """`choices[0].logprobs.content` as records; None when the endpoint gave none (or not in the API's shape).
    A malformed entry makes the whole list None rather than shifting the tokens against the text."""
    logprobs = choice.get("logprobs") if isinstance(choice, dict) else None
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list) or not content:
        return None
    tokens = [_token(entry, True) for entry in content]
    return None if any(t is None for t in tokens) else tuple(t for t in tokens if t is not None)


class OpenAIProvider:
    supports_logprobs = True

    def __init__(self, spec: ModelSpec) -> None:
        if not spec.model:
            raise SpecError(f"model {spec.label!r}: 'model' (the provider's model name) is required")
        self.spec = spec
        self.base = (spec.base_url or OPENAI_URL).rstrip("/")
        self.url = self.base + "/chat/completions"
        refuse_offline(spec, self.url)
        key_env = spec.api_key_env or ("OPENAI_API_KEY" if spec.base_url is None else None)
        self.headers = {"Content-Type": "application/json"}
        if key_env:
            key = os.environ.get(key_env)
            if not key:
                raise SpecError(f"model {spec.label!r}: environment variable {key_env} (api_key_env) is not set")
            self.headers["Authorization"] = f"Bearer {key}"
        self._session: aiohttp.ClientSession | None = None

    def _body(self, request: CompletionRequest) -> dict[str, Any]:
        s = self.spec
        body: dict[str, Any] = {"model": s.model, "messages": request.messages}
        for name in ("temperature", "max_tokens", "top_p", "seed"):
            value = getattr(s, name)
            if value is not None:
                body[name] = value
        if request.seed is not None:
            body["seed"] = request.seed
        if request.tools:
            body["tools"] = request.tools
        if request.top_logprobs is not None:
            body["logprobs"] = True
            body["top_logprobs"] = request.top_logprobs
        if request.json_schema is not None and s.structured_output != "none":
            if s.structured_output == "json_schema":
                body["response_format"] = {"type": "json_schema", "json_schema": {
                    "name": "verdict", "schema": request.json_schema, "strict": False}}
            else:
                body["response_format"] = {"type": "json_object"}
        return body

    async def complete(self, request: CompletionRequest) -> Completion:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.spec.concurrency + 4, ttl_dns_cache=300),
                timeout=aiohttp.ClientTimeout(total=self.spec.timeout_s), headers=self.headers,
                json_serialize=json.dumps)
        payload = json.dumps(self._body(request)).encode()
        start = time.perf_counter()
        try:
            async with self._session.post(self.url, data=payload) as resp:
                raw = await resp.read()
                status = resp.status
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        except asyncio.TimeoutError:
            raise RetryableError(f"timed out after {self.spec.timeout_s:g}s") from None
        except aiohttp.ClientConnectorError as e:  # refused, unknown host, TLS: no connection at all
            raise UnreachableError(f"can't connect to {self.base}: {e.__class__.__name__}: {e}") from None
        except aiohttp.ClientError as e:
            raise RetryableError(f"connection error: {e.__class__.__name__}: {e}".rstrip(": ")) from None
        latency_ms = (time.perf_counter() - start) * 1000
        if status != 200:
            raise status_error(status, f"HTTP {status}: {_error_message(raw)}", retry_after)
        try:
            data = json.loads(raw)
            choice = data["choices"][0]["message"]
            if not isinstance(choice, dict):
                raise TypeError
        except (ValueError, KeyError, IndexError, TypeError):
            raise RetryableError(f"malformed response body: {raw[:200]!r}", status=status) from None
        text = choice.get("content")
        if text is None and choice.get("tool_calls"):
            text = json.dumps(choice["tool_calls"], ensure_ascii=False)
        elif text is None and isinstance(choice.get("refusal"), str):
            text = choice["refusal"]  # the model declined: that is its answer, and it is judged as such
        elif not isinstance(text, str):
            finish = (data["choices"][0] or {}).get("finish_reason")
            raise RetryableError(f"the response has no content (finish_reason: {finish})", status=status)
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        logprobs = _logprobs(data["choices"][0]) if request.top_logprobs is not None else None
        return Completion(text=text, input_tokens=usage.get("prompt_tokens"),
                          output_tokens=usage.get("completion_tokens"), latency_ms=latency_ms, logprobs=logprobs)

    def check(self) -> None:
        """Before a run: does the endpoint answer? (GET /models: free, unlike a completion.)"""
        probe(self.spec, self.base + "/models", self.headers, shown=self.base)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
