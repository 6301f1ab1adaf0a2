"""The `anthropic` provider: Claude models through the Messages API, with the official `anthropic` SDK.

Install it with the extra: ``pip install 'assay[anthropic]'``. The SDK is imported only when an `anthropic`
model entry is used. assay's engine does the retries (backoff, jitter, Retry-After as a floor), so the SDK's
own retries are switched off.

* System messages become the top-level ``system`` parameter; user and assistant turns keep their order.
* The API rejects empty text: a text block that is empty or only whitespace (``"messages: text content blocks
  must be non-empty"``), and a turn with no content unless it is the final assistant turn (``"all messages must
  have non-empty content except for the optional final assistant message"``). So empty or whitespace-only text
  parts (and parts whose text is null) are left out of a turn, and a turn left with no content is handled by its
  role: an empty *user* turn is sent as the text ``[empty message]`` (dropping it would merge the turns around it
  or make the model answer, or continue, another turn); an empty *assistant* turn is dropped (the API joins the
  user turns on either side; writing text in the assistant's name could be imitated), and so is an empty final
  assistant turn (an empty prefill says nothing).
* Image parts: a ``data:`` URL is sent as base64 (a URL-encoded one is percent-decoded first), any other URL as a
  URL source.
* ``max_tokens`` is required by the API: 1024 unless the entry sets it. ``seed`` has no equivalent and is
  ignored. ``temperature`` and ``top_p`` are sent when set, if the API version the installed SDK speaks still
  takes them: SDK 0.x as arguments, 1.x in the body; SDK 2.x speaks API version 2026-10-21, which rejects
  sampling parameters, so an entry that sets them is refused up front (a SpecError naming the entry) rather
  than failing every call or being silently changed.
* Structured output (the judge's verdict) goes through tool use: one tool whose input schema is the requested
  schema, forced with ``tool_choice``. Its input, serialized as JSON, is the answer the judge's strict parser
  reads. The tool is ``record_verdict`` for a verdict (a schema with a ``score`` or a ``winner``), described as
  such; for any other schema (rubric proposals, ...) it is ``record_answer``, "Record your answer in the required
  structure", naming the schema's fields. ``structured_output: none`` sends no tool (the prompt alone asks for
  JSON).
* ``base_url`` is the API root (``https://api.anthropic.com`` by default, a gateway or proxy otherwise); the SDK
  appends ``/v1/messages``, so a trailing ``/v1`` is dropped.
* ``ASSAY_OFFLINE=1`` refuses any host outside loopback, as for the openai provider. Before a run,
  ``GET /v1/models`` checks that the endpoint answers (a server without that listing still passes).
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import os
import time
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from assay.config.models import ModelSpec
from assay.errors import FatalProviderError, RetryableError, SpecError, UnreachableError
from assay.providers.base import Completion, CompletionRequest, parse_retry_after, probe, refuse_offline, status_error

ANTHROPIC_URL = "https://api.anthropic.com"
DEFAULT_KEY_ENV = "ANTHROPIC_API_KEY"
DEFAULT_MAX_TOKENS = 1024
VERDICT_TOOL = "record_verdict"
ANSWER_TOOL = "record_answer"  # the forced tool of a structured request that is not a verdict
EMPTY_TURN = "[empty message]"  # what an empty user turn is sent as (the API rejects empty turns)
INSTALL_HINT = "the anthropic provider needs the official SDK: pip install 'assay[anthropic]'"

_NO_SAMPLING_API = "2026-10-21"  # the first API version that rejects temperature / top_p / top_k


def _import_sdk() -> Any:
    try:
        import anthropic
    except ImportError:
        raise SpecError(INSTALL_HINT) from None
    return anthropic


def _sampling_route(sdk: Any) -> str:
    """How this SDK can send temperature/top_p: "kwargs" (0.x), "extra_body" (1.x) or "" (API rejects them)."""
    try:
        create = importlib.import_module(f"{sdk.__name__}.resources").AsyncMessages.create
        if "temperature" in inspect.signature(create).parameters:
            return "kwargs"
        api_version = importlib.import_module(f"{sdk.__name__}._constants").ANTHROPIC_API_VERSION
    except (ImportError, AttributeError, TypeError, ValueError):
        api_version = _NO_SAMPLING_API
    return "extra_body" if str(api_version) < _NO_SAMPLING_API else ""


def _image_block(part: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-style `image_url` part as an Anthropic image block (a data: URL or a plain URL)."""
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise FatalProviderError("an image_url content part has no url")
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[5:].split(";")[0] or "image/png"
        if ";base64" in header:
            data = unquote(data)  # base64 has no '%': this only decodes a percent-encoded '+', '/' or '='
        else:  # the bytes themselves, percent-encoded (RFC 2397): decode, then encode as base64
            data = base64.b64encode(unquote_to_bytes(data)).decode()
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _has_text(text: str) -> bool:
    return bool(text.strip())


def _content(content: Any) -> str | list[dict[str, Any]]:
    """A message's content as Anthropic content: "" or [] when nothing is left to send (see the module docstring:
    empty and whitespace-only text is left out, since the API rejects it)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content if _has_text(content) else ""
    blocks: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, str):
            if _has_text(part):
                blocks.append({"type": "text", "text": part})
        elif part.get("type", "text") == "text":
            text = part.get("text")
            text = "" if text is None else str(text)
            if _has_text(text):
                blocks.append({"type": "text", "text": text})
        elif part.get("type") == "image_url":
            blocks.append(_image_block(part))
        elif part.get("type") in ("image", "document"):  # already Anthropic-shaped
            blocks.append(part)
        else:
            raise FatalProviderError(f"the anthropic provider can't send a {part.get('type')!r} content part")
    return blocks


def _text(content: Any) -> str:
    mapped = _content(content)
    if isinstance(mapped, str):
        return mapped
    return "\n".join(b["text"] for b in mapped if b["type"] == "text")


def _messages(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """OpenAI-shaped messages as (system text, Anthropic messages)."""
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for msg in messages:
        role = msg.get("role")
        if role == "system":
            system.append(_text(msg.get("content")))
        elif role in ("user", "assistant"):
            content = _content(msg.get("content"))
            if role == "assistant" and msg.get("tool_calls"):
                # A past tool call, shown as text: tool_use blocks would need matching tool_result ids.
                calls = json.dumps([c.get("function", c) for c in msg["tool_calls"]], ensure_ascii=False)
                content = (_text(content) + "\n" if _text(content) else "") + f"[tool calls] {calls}"
            out.append({"role": role, "content": content})
        elif role == "tool":
            out.append({"role": "user", "content": f"[tool result] {_text(msg.get('content'))}"})
        else:
            raise FatalProviderError(f"the anthropic provider can't send a message with role {role!r}")
    sent = []
    for m in out:
        if m["content"] in ("", []):
            if m["role"] == "assistant":
                continue  # the API joins the user turns around it
            m = {"role": m["role"], "content": EMPTY_TURN}
        sent.append(m)
    if not sent:
        raise FatalProviderError("every message is empty: there is nothing to send to the model")
    return "\n\n".join(s for s in system if _has_text(s)), sent


def _answer_tool(schema: dict[str, Any]) -> dict[str, Any]:
    """The forced tool of a structured request, named and described after what the schema asks for."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    fields = list(props) if isinstance(props, dict) else []
    if "score" in fields:
        name, description = VERDICT_TOOL, "Record your verdict: your reasoning, then the score."
    elif "winner" in fields:
        name, description = VERDICT_TOOL, ("Record your verdict: your reasoning, then the better response "
                                           "(A or B), or tie.")
    else:
        name = ANSWER_TOOL
        description = "Record your answer in the required structure" + \
            (f" (fields: {', '.join(map(str, fields))})." if fields else ".")
    return {"name": name, "input_schema": schema, "description": description}


def _tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI-style function tools as Anthropic tools (Anthropic-shaped ones pass through)."""
    out = []
    for tool in tools:
        fn = tool.get("function") if tool.get("type") == "function" else None
        if isinstance(fn, dict):
            entry = {"name": fn["name"], "input_schema": fn.get("parameters") or {"type": "object", "properties": {}}}
            if fn.get("description"):
                entry["description"] = fn["description"]
            out.append(entry)
        else:
            out.append(tool)
    return out


def _status_message(error: Any) -> str:
    body = getattr(error, "body", None)
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict) and err.get("message"):
        kind = f" ({err['type']})" if err.get("type") else ""
        return f"HTTP {error.status_code}{kind}: {err['message']}"
    return f"HTTP {error.status_code}: {getattr(error, 'message', error)}"


class AnthropicProvider:
    def __init__(self, spec: ModelSpec) -> None:
        if not spec.model:
            raise SpecError(f"model {spec.label!r}: 'model' (the Anthropic model name, e.g. claude-sonnet-4-5) "
                            "is required")
        self.sdk = _import_sdk()
        self.spec = spec
        base = (spec.base_url or ANTHROPIC_URL).rstrip("/")
        self.base_url = base[:-3] if base.endswith("/v1") else base
        refuse_offline(spec, self.base_url)
        key_env = spec.api_key_env or DEFAULT_KEY_ENV
        self._key = os.environ.get(key_env)
        if not self._key:
            raise SpecError(f"model {spec.label!r}: environment variable {key_env} (api_key_env) is not set")
        self._sampling = {k: v for k, v in (("temperature", spec.temperature), ("top_p", spec.top_p))
                          if v is not None}
        self._sampling_route = _sampling_route(self.sdk) if self._sampling else ""
        if self._sampling and not self._sampling_route:
            raise SpecError(
                f"model {spec.label!r}: {' and '.join(self._sampling)} can't be sent: the installed anthropic SDK "
                f"({self.sdk.__version__}) speaks API version {_NO_SAMPLING_API} or later, which rejects sampling "
                "parameters; remove them from this model entry")
        self._client: Any = None

    def _params(self, request: CompletionRequest) -> dict[str, Any]:
        s = self.spec
        system, messages = _messages(request.messages)
        params: dict[str, Any] = {"model": s.model, "messages": messages,
                                  "max_tokens": s.max_tokens or DEFAULT_MAX_TOKENS}
        if system:
            params["system"] = system
        if self._sampling_route == "kwargs":
            params.update(self._sampling)
        elif self._sampling_route == "extra_body":
            params["extra_body"] = dict(self._sampling)
        if request.json_schema is not None and s.structured_output != "none":
            tool = _answer_tool(request.json_schema)
            params["tools"] = [tool]
            params["tool_choice"] = {"type": "tool", "name": tool["name"]}
        elif request.tools:
            params["tools"] = _tools(request.tools)
        return params

    async def complete(self, request: CompletionRequest) -> Completion:
        sdk = self.sdk
        params = self._params(request)
        if self._client is None:
            self._client = sdk.AsyncAnthropic(api_key=self._key, base_url=self.base_url, max_retries=0,
                                              timeout=self.spec.timeout_s)
        start = time.perf_counter()
        try:
            message = await self._client.messages.create(**params)
        except sdk.APITimeoutError:
            raise RetryableError(f"timed out after {self.spec.timeout_s:g}s") from None
        except sdk.APIConnectionError as e:
            cause = e.__cause__
            detail = f"{cause.__class__.__name__}: {cause}" if cause else str(e)
            if cause is not None and cause.__class__.__name__ == "ConnectError":  # httpx: no connection at all
                raise UnreachableError(f"can't connect to {self.base_url}: {detail}") from None
            raise RetryableError(f"connection error: {detail}".rstrip(": ")) from None
        except sdk.APIStatusError as e:
            raise status_error(e.status_code, _status_message(e),
                               parse_retry_after(e.response.headers.get("retry-after"))) from None
        except sdk.APIResponseValidationError as e:
            raise RetryableError(f"malformed response body: {e}", status=e.status_code) from None
        except sdk.AnthropicError as e:
            raise FatalProviderError(f"anthropic SDK: {e}") from None
        latency_ms = (time.perf_counter() - start) * 1000
        usage = message.usage
        # Input tokens are the uncached ones; prompt-cache writes and reads are input too.
        input_tokens = usage.input_tokens + (getattr(usage, "cache_creation_input_tokens", None) or 0) \
            + (getattr(usage, "cache_read_input_tokens", None) or 0)
        return Completion(text=self._text(message, params), input_tokens=input_tokens,
                          output_tokens=usage.output_tokens, latency_ms=latency_ms)

    @staticmethod
    def _text(message: Any, params: dict[str, Any]) -> str:
        blocks = list(message.content or [])
        tool_uses = [b for b in blocks if getattr(b, "type", None) == "tool_use"]
        forced = params.get("tool_choice", {}).get("name")
        for block in tool_uses:
            if forced and block.name == forced:
                return json.dumps(block.input, ensure_ascii=False)
        texts = "".join(b.text for b in blocks if getattr(b, "type", None) == "text")
        if texts or forced or not tool_uses:
            return texts  # a verdict request answered without the tool: the parser rejects it
        return json.dumps([{"name": b.name, "input": b.input} for b in tool_uses], ensure_ascii=False)

    def check(self) -> None:
        """Before a run: does the endpoint answer? (GET /v1/models: free, unlike a message.)"""
        headers = {"x-api-key": self._key or "", "anthropic-version": "2023-06-01"}
        probe(self.spec, self.base_url + "/v1/models", headers, shown=self.base_url)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
