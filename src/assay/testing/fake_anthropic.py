"""A fake server speaking the Anthropic Messages API, for tests of the `anthropic` provider.

Run it as a separate process::

    python -m assay.testing.fake_anthropic --port 0 [--host 127.0.0.1] [--latency-ms 0] [--require-key KEY]

When it is ready it prints exactly one line, ``LISTENING http://HOST:PORT``, to stdout. That root URL is the
``base_url`` the official SDK wants: it appends ``/v1/messages`` itself.

Behaviour
---------
``POST /v1/messages`` checks what the real API checks that matters here (an ``anthropic-version`` header, the
key when ``--require-key`` is given, a ``model``, a positive ``max_tokens``, a non-empty ``messages`` list
holding only ``user``/``assistant`` turns, no empty text, a ``tool_choice`` naming a declared tool, no
``temperature``, ``top_p`` or ``top_k`` from API version 2026-10-21 on) and answers deterministically. Empty
text is rejected with the real API's messages: a turn with no content (``""`` or ``[]``) unless it is the final
assistant turn ("all messages must have non-empty content except for the optional final assistant message"), a
text block whose text is empty ("text content blocks must be non-empty") or only whitespace ("text content
blocks must contain non-whitespace text"), and a text block whose text is not a string. Answers:

* a *judge call* (``tools`` given and ``tool_choice`` forcing a tool, ``{"type": "tool"}`` or ``{"type":
  "any"}``) gets one ``tool_use`` block whose ``input`` is ``{"reasoning": ..., "score": S}``; S is the last
  ``quality=<int>`` in the prompt (system and messages), clamped to the forced tool's
  ``input_schema.properties.score`` minimum/maximum (default 1..10);
* any other call is a *generation call* and gets one text block,
  ``"[{model}] quality={q}. Answer: " + <first 200 chars of the last user message>``, where q comes from a
  model name ending in ``-q<int>`` (default 5).

The key is accepted as ``x-api-key: KEY`` or ``Authorization: Bearer KEY`` (recent SDK versions send the
latter).

Control endpoints (never behind the key, never delayed):

* ``POST /_control/faults``   JSON list of fault rules; replaces the current list
* ``GET  /_control/faults``   the current rules, with the ``times`` left
* ``POST /_control/config``   ``{"latency_ms": N}``
* ``GET  /_control/stats``    counters: calls, ok, faults, by_model, by_call, by_fault, unauthorized, bad_requests
* ``GET  /_control/requests`` the last 100 accepted request bodies, oldest first, each with its ``headers``
  (the key headers masked)
* ``POST /_control/reset``    clears faults, counters and recorded requests

A fault rule is ``{"fault": F, "times": N | null, "model": name?, "call": "judge"|"generate"?,
"retry_after": seconds?, "delay_s": seconds?}``; F is one of ``429 529 500 400 401 403 404 timeout no_tool
out_of_range``. ``no_tool`` answers a tool request with a text block only; ``out_of_range`` gives a score
above the schema's maximum; ``timeout`` waits ``delay_s`` (default 30) before answering normally. For each
request the first rule that matches and has times left fires, and its ``times`` drops by one.

:class:`FakeAnthropicServer` (below) starts this server in a subprocess and drives its control endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import subprocess
import sys
import time
import zlib
from collections import deque
from typing import IO, Any

from aiohttp import web

from assay.testing._control import Rule, add_control_routes, bad_control, number, pick_rule, read_json, serve_app
from assay.testing.harness import ServerProcess

FAULT_KINDS = frozenset({"429", "529", "500", "400", "401", "403", "404", "timeout", "no_tool", "out_of_range"})
DEFAULT_QUALITY = 5
DEFAULT_SCORE_MIN, DEFAULT_SCORE_MAX = 1, 10
DEFAULT_TIMEOUT_DELAY_S = 30.0
ANSWER_PREFIX_CHARS = 200
KEPT_REQUESTS = 100
NO_SAMPLING_API = "2026-10-21"  # from this API version on, temperature / top_p / top_k are rejected

_MODEL_QUALITY = re.compile(r"-q(\d+)$")
_QUALITY = re.compile(r"quality=(-?\d+)")
_SECRET_HEADERS = ("x-api-key", "authorization")


# ---------------------------------------------------------------------------------------------
# Helpers


def model_quality(model: str) -> int:
    m = _MODEL_QUALITY.search(model)
    return int(m.group(1)) if m else DEFAULT_QUALITY


def _text_of(content: Any) -> str:
    """The text of a string or of a list of content blocks (text blocks only)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b["text"] for b in content
                         if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str))
    return ""


def _error(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"type": "error", "error": {"type": type_, "message": message}}
    all_headers = {"request-id": f"req_fake{time.monotonic_ns():x}", **(headers or {})}
    return web.json_response(body, status=status, headers=all_headers)


def _check_content(content: str | list[Any], i: int, *, final_assistant: bool) -> None:
    """Raise ValueError, as the real API answers 400, for a turn with no content or with empty text."""
    if content in ("", []):
        if final_assistant:  # the optional final assistant turn (a prefill) may be empty
            return
        raise ValueError(f"messages.{i}: all messages must have non-empty content except for the optional final "
                         "assistant message")
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
    for j, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise ValueError(f"messages.{i}.content.{j}: Input should be a content block object with a type")
        if block["type"] != "text":
            continue
        text = block.get("text")
        if not isinstance(text, str):
            raise ValueError(f"messages.{i}.content.{j}.text: Input should be a valid string")
        if not text:
            raise ValueError("messages: text content blocks must be non-empty")
        if not text.strip():
            raise ValueError("messages: text content blocks must contain non-whitespace text")


class State:
    def __init__(self, *, latency_ms: float = 0.0, require_key: str | None = None) -> None:
        self.initial_latency_ms = float(latency_ms)
        self.require_key = require_key
        self.ids = 0
        self.reset()

    def reset(self) -> None:
        self.latency_ms = self.initial_latency_ms
        self.rules: list[Rule] = []
        self.calls = self.ok = self.faults = self.unauthorized = self.bad_requests = 0
        self.by_model: dict[str, int] = {}
        self.by_call = {"generate": 0, "judge": 0}
        self.by_fault: dict[str, int] = {}
        self.requests: deque[dict[str, Any]] = deque(maxlen=KEPT_REQUESTS)

    def authorized(self, request: web.Request) -> bool:
        if self.require_key is None:
            return True
        return request.headers.get("x-api-key") == self.require_key or \
            request.headers.get("Authorization") == f"Bearer {self.require_key}"

    def next_id(self, prefix: str) -> str:
        self.ids += 1
        return f"{prefix}_fake{self.ids:016x}"

    def stats(self) -> dict[str, Any]:
        return {"calls": self.calls, "ok": self.ok, "faults": self.faults, "by_model": dict(self.by_model),
                "by_call": dict(self.by_call), "by_fault": dict(self.by_fault), "unauthorized": self.unauthorized,
                "bad_requests": self.bad_requests}


# ---------------------------------------------------------------------------------------------
# Parsing a Messages API request


class _Request:
    """The parts of a /v1/messages body the answers depend on; ValueError says what the API would reject."""

    def __init__(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise ValueError("the request body must be a JSON object")
        model, max_tokens, messages = body.get("model"), body.get("max_tokens"), body.get("messages")
        if not isinstance(model, str) or not model:
            raise ValueError("model: Field required")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError("max_tokens: Field required (a positive integer)")
        if not isinstance(messages, list) or not messages:
            raise ValueError("messages: at least one message is required")
        texts = [_text_of(body.get("system"))]
        last_user = ""
        for i, msg in enumerate(messages):
            if not isinstance(msg, dict) or msg.get("role") not in ("user", "assistant"):
                raise ValueError(f"messages.{i}.role: Input should be 'user' or 'assistant'")
            content = msg.get("content")
            if not isinstance(content, (str, list)):
                raise ValueError(f"messages.{i}.content: Input should be a string or a list of content blocks")
            _check_content(content, i, final_assistant=i == len(messages) - 1 and msg["role"] == "assistant")
            texts.append(_text_of(content))
            if msg["role"] == "user":
                last_user = _text_of(content)
        tools = body.get("tools")
        if tools is not None and (not isinstance(tools, list)
                                  or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in tools)):
            raise ValueError("tools: each tool needs a name")
        for i, tool in enumerate(tools or []):
            if tool.get("type") in (None, "custom") and not isinstance(tool.get("input_schema"), dict):
                raise ValueError(f"tools.{i}.input_schema: Field required")
        choice = body.get("tool_choice")
        self.tool: dict[str, Any] | None = None  # the tool the model is forced to use
        if isinstance(choice, dict) and choice.get("type") in ("tool", "any"):
            if not tools:
                raise ValueError("tool_choice may only be specified while providing tools")
            if choice["type"] == "tool":
                named = [t for t in tools if t["name"] == choice.get("name")]
                if not named:
                    raise ValueError(f"tool_choice: tool {choice.get('name')!r} was not provided in tools")
                self.tool = named[0]
            else:
                self.tool = tools[0]
        self.model = model
        self.text = "\n".join(texts)
        self.last_user = last_user

    @property
    def call(self) -> str:
        return "judge" if self.tool is not None else "generate"

    def bounds(self) -> tuple[int, int]:
        lo, hi = DEFAULT_SCORE_MIN, DEFAULT_SCORE_MAX
        schema = (self.tool or {}).get("input_schema")
        score = schema.get("properties", {}).get("score") if isinstance(schema, dict) else None
        if isinstance(score, dict):
            if isinstance(score.get("minimum"), (int, float)) and not isinstance(score["minimum"], bool):
                lo = int(score["minimum"])
            if isinstance(score.get("maximum"), (int, float)) and not isinstance(score["maximum"], bool):
                hi = int(score["maximum"])
        return (lo, hi) if lo <= hi else (hi, lo)

    def input_tokens(self) -> int:
        return max(1, len(self.text.split()))


def _message(state: State, p: _Request, content: list[dict[str, Any]], stop_reason: str) -> web.Response:
    words = sum(len(_text_of([b]).split()) or len(json.dumps(b.get("input", "")).split()) for b in content)
    body = {
        "id": state.next_id("msg"), "type": "message", "role": "assistant", "model": p.model,
        "content": content, "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": p.input_tokens(), "output_tokens": max(1, words),
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    }
    return web.json_response(body, headers={"request-id": state.next_id("req")})


def _verdict(p: _Request, *, out_of_range: bool = False) -> dict[str, Any]:
    lo, hi = p.bounds()
    found = _QUALITY.findall(p.text)
    if found:
        quality, source = int(found[-1]), f"the answer reports quality {found[-1]}"
    else:
        quality = lo + zlib.adler32(p.text.encode("utf-8", "surrogatepass")) % (hi - lo + 1)
        source = "no quality marker found, so the score is derived from the text"
    score = hi + 5 if out_of_range else min(hi, max(lo, quality))
    return {"reasoning": f"Fake judge: {source}; score {score} on a {lo}-{hi} scale.", "score": score}


def _answer(state: State, p: _Request, fault: str | None = None) -> web.Response:
    if p.tool is None:
        text = f"[{p.model}] quality={model_quality(p.model)}. Answer: {p.last_user[:ANSWER_PREFIX_CHARS]}"
        return _message(state, p, [{"type": "text", "text": text}], "end_turn")
    if fault == "no_tool":
        text = "I would rate this answer highly, about an 8."
        return _message(state, p, [{"type": "text", "text": text}], "end_turn")
    block = {"type": "tool_use", "id": state.next_id("toolu"), "name": p.tool["name"],
             "input": _verdict(p, out_of_range=fault == "out_of_range")}
    return _message(state, p, [block], "tool_use")


def _fault_response(rule: Rule, p: _Request) -> web.Response | None:
    retry = {"retry-after": f"{rule.retry_after:g}"} if rule.retry_after is not None else None
    match rule.fault:
        case "429":
            return _error(429, "rate_limit_error", f"Number of requests has exceeded your rate limit for "
                          f"{p.model} (injected fault).", retry or {"retry-after": "1"})
        case "529":
            return _error(529, "overloaded_error", "Overloaded (injected fault)", retry)
        case "500":
            return _error(500, "api_error", "Internal server error (injected fault)", retry)
        case "400":
            return _error(400, "invalid_request_error", "messages: the request was rejected (injected fault)")
        case "401":
            return _error(401, "authentication_error", "invalid x-api-key (injected fault)")
        case "403":
            return _error(403, "permission_error", "Your API key does not have permission to use the specified "
                          "resource (injected fault)")
        case "404":
            return _error(404, "not_found_error", f"model: {p.model} (injected fault)")
    return None  # answered with content: no_tool, out_of_range


# ---------------------------------------------------------------------------------------------
# Handlers


async def messages(request: web.Request) -> web.Response:
    state: State = request.app["state"]
    state.calls += 1
    if not state.authorized(request):
        state.unauthorized += 1
        return _error(401, "authentication_error", "invalid x-api-key")
    if not request.headers.get("anthropic-version"):
        state.bad_requests += 1
        return _error(400, "invalid_request_error", "anthropic-version: header is required")
    try:
        body = json.loads(await request.read())
        p = _Request(body)
        if request.headers["anthropic-version"] >= NO_SAMPLING_API:
            for name in ("temperature", "top_p", "top_k"):
                if name in body:
                    raise ValueError(f"{name}: Extra inputs are not permitted")
    except ValueError as e:
        state.bad_requests += 1
        return _error(400, "invalid_request_error", str(e))
    headers = {k.lower(): ("***" if k.lower() in _SECRET_HEADERS else v) for k, v in request.headers.items()}
    state.requests.append({**body, "headers": headers})
    state.by_model[p.model] = state.by_model.get(p.model, 0) + 1
    state.by_call[p.call] += 1
    rule = pick_rule(state.rules, p.model, p.call) if state.rules else None
    if state.latency_ms:
        await asyncio.sleep(state.latency_ms / 1000)
    if rule is None:
        state.ok += 1
        return _answer(state, p)
    state.faults += 1
    state.by_fault[rule.fault] = state.by_fault.get(rule.fault, 0) + 1
    if rule.fault == "timeout":
        await asyncio.sleep(rule.delay_s if rule.delay_s is not None else DEFAULT_TIMEOUT_DELAY_S)
        return _answer(state, p)
    return _fault_response(rule, p) or _answer(state, p, rule.fault)


async def control_config(request: web.Request) -> web.Response:
    state: State = request.app["state"]
    raw = await read_json(request)
    if not isinstance(raw, dict) or set(raw) - {"latency_ms"}:
        return bad_control("expected {\"latency_ms\": N}")
    try:
        if "latency_ms" in raw:
            state.latency_ms = number(raw["latency_ms"], "latency_ms")
    except ValueError as e:
        return bad_control(str(e))
    return web.json_response({"latency_ms": state.latency_ms})


async def control_requests(request: web.Request) -> web.Response:
    return web.json_response(list(request.app["state"].requests))


async def control_reset(request: web.Request) -> web.Response:
    request.app["state"].reset()
    return web.json_response({"reset": True})


def make_app(state: State) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app["state"] = state
    app.router.add_post("/v1/messages", messages)
    add_control_routes(app, FAULT_KINDS)
    app.router.add_post("/_control/config", control_config)
    app.router.add_get("/_control/requests", control_requests)
    app.router.add_post("/_control/reset", control_reset)
    return app


# ---------------------------------------------------------------------------------------------
# Process entry point


async def serve(args: argparse.Namespace) -> None:
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if sys.platform != "win32":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(512)
    sock.setblocking(False)
    await serve_app(make_app(State(latency_ms=args.latency_ms, require_key=args.require_key)), sock, args.host,
                    exit_on_stdin_eof=args.exit_on_stdin_eof)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m assay.testing.fake_anthropic",
                                 description="Fake Anthropic Messages API server with fault injection.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--require-key", default=None, help="require this key (x-api-key or Authorization: Bearer)")
    ap.add_argument("--exit-on-stdin-eof", action="store_true", help="exit when stdin closes (used by the handle)")
    args = ap.parse_args(argv)
    if args.latency_ms < 0:
        ap.error("--latency-ms must be >= 0")
    asyncio.run(serve(args))


# ---------------------------------------------------------------------------------------------
# Client-side handle


class FakeAnthropicServer(ServerProcess):
    """A fake Anthropic server in a subprocess. ``url`` is the SDK's base URL (the root, no ``/v1``)."""

    _MODULE = "assay.testing.fake_anthropic"
    _NAME = "fake Anthropic server"

    def __init__(self, proc: subprocess.Popen[bytes], url: str, stderr_file: IO[bytes], api_key: str | None) -> None:
        super().__init__(proc, url, stderr_file, api_key)
        self.url = self.root_url

    @classmethod
    def start(cls, *, latency_ms: float = 0, require_key: str | None = None, host: str = "127.0.0.1",
              startup_timeout: float = 20.0) -> FakeAnthropicServer:
        args = ["--host", host, "--port", "0", "--latency-ms", repr(float(latency_ms))]
        if require_key is not None:
            args += ["--require-key", require_key]
        return cls(*cls._launch(args, None, startup_timeout), require_key)

    def configure(self, *, latency_ms: float) -> dict[str, Any]:
        config: dict[str, Any] = self._control("POST", "/_control/config", {"latency_ms": latency_ms})
        return config

    def requests(self) -> list[dict[str, Any]]:
        """The last accepted request bodies (oldest first), each with its lower-cased ``headers``."""
        requests: list[dict[str, Any]] = self._control("GET", "/_control/requests")
        return requests


if __name__ == "__main__":
    main()
