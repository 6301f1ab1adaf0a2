"""An OpenAI-compatible fake model server for tests and benchmarks.

Run it as a separate process::

    python -m assay.testing.fake_server --port 0 [--host 127.0.0.1] [--latency-ms 100]
        [--jitter-ms 0] [--judge-noise 1] [--require-key KEY]

When it is ready it prints exactly one line, ``LISTENING http://HOST:PORT``, to stdout.

Behaviour
---------
``POST /v1/chat/completions`` answers deterministically:

* a *judge call* (``response_format.type`` is ``json_schema`` or ``json_object``) gets the JSON
  text ``{"reasoning": ..., "score": S}``, where S is the last ``quality=<int>`` found in the
  messages plus a deterministic noise in ``[-judge_noise, +judge_noise]``, clamped to the
  schema's ``properties.score.minimum`` / ``maximum`` (default 1..10);
* a *pairwise* judge call (the schema has a ``winner`` or ``verdict`` property) gets
  ``{"reasoning": ..., "winner": "A" | "B" | "tie"}`` (or a five-point ``verdict``, ``A>>B`` ...
  ``B>>A``) from the last two ``quality=<int>`` markers, which are responses A and B;
* any other call is a *generation call* and gets
  ``"[{model}] quality={q}. Answer: " + <first 200 chars of the last user message>``, where q
  comes from a model name ending in ``-q<int>`` (default 5).

A request with ``"logprobs": true`` gets ``choices[0].logprobs.content``: the answer cut into
tokens (words, punctuation runs, each with its leading space), each with its ``logprob``,
``bytes`` and up to ``top_logprobs`` alternatives. At a pairwise verdict's answer the
alternatives are the other answers, with probabilities from the quality difference (see
``answer_probabilities``); setting ``logprobs_split`` chooses how the answer's token is cut
(``separate``: ``"`` ``A`` ``"}``; ``quoted``: `` "A`` ``"}``; ``closing``: ``"`` ``A"}``), and
``logprobs: "off"`` makes the server ignore the request (``"logprobs": null``), as some
endpoints do.

``GET /v1/models`` lists a few model ids.

Control endpoints (never behind the API key, never delayed):

* ``POST /_control/faults``  JSON list of fault rules; replaces the current list
* ``GET  /_control/faults``  the current rules, with the ``times`` left
* ``POST /_control/config``  JSON object with any of latency_ms, jitter_ms, judge_noise,
  pairwise_bias, logprobs, logprobs_split
* ``GET  /_control/config``  the current settings
* ``GET  /_control/stats``   counters (see :meth:`State.stats`)
* ``GET  /_control/arrivals`` when each chat-completions request arrived: ``[[seconds, model], ...]`` (the
  server's monotonic clock, oldest first; the last 10000), to check rate limits at the server
* ``POST /_control/reset``   clears faults and counters, restores the start-up settings

A fault rule is ``{"fault": F, "times": N | null, "model": name?, "call": "judge"|"generate"?,
"retry_after": seconds?, "delay_s": seconds?}``; F is one of ``429 500 502 503 400 401 404
timeout drop malformed out_of_range wrong_type empty echo_headers``. For each chat-completions request
the first rule (in list order) that matches and has times left fires, and its ``times`` drops by one.
``echo_headers`` answers 400 with the request's headers (Authorization included) in the error message, as some
gateways do: what a client must never store or print.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import random
import re
import socket
import sys
import time
import zlib
from collections import deque
from typing import Any

from aiohttp import web

from assay.testing._control import (
    Rule,
    add_control_routes,
    bad_control,
    number,
    pick_rule,
    read_json,
    serve_app,
)

# ---------------------------------------------------------------------------------------------
# Constants

FAULT_KINDS = frozenset(
    {
        "429",
        "500",
        "502",
        "503",
        "400",
        "401",
        "404",
        "timeout",
        "drop",
        "malformed",
        "out_of_range",
        "wrong_type",
        "empty",
        "echo_headers",
    }
)
CONFIG_KEYS = ("latency_ms", "jitter_ms", "judge_noise", "pairwise_bias", "logprobs", "logprobs_split")
PAIRWISE_BIASES = ("none", "first")
LOGPROBS_MODES = ("on", "off")
LOGPROBS_SPLITS = ("separate", "quoted", "closing")
MODEL_IDS = ("strong-q8", "weak-q3", "judge-q5")
DEFAULT_QUALITY = 5
DEFAULT_SCORE_MIN = 1
DEFAULT_SCORE_MAX = 10
DEFAULT_TIMEOUT_DELAY_S = 30.0
ANSWER_PREFIX_CHARS = 200

_MODEL_QUALITY_RE = re.compile(r"-q(\d+)$")
_QUALITY_RE = re.compile(r"quality=(-?\d+)")
_JSON = "application/json"
_INVALID_KEY_MESSAGE = "Incorrect API key provided"


# ---------------------------------------------------------------------------------------------
# Pure helpers (also used by the tests through the HTTP surface)


def model_quality(model: str) -> int:
    """Quality encoded in a model name ending in ``-q<int>``; otherwise 5."""
    m = _MODEL_QUALITY_RE.search(model)
    return int(m.group(1)) if m else DEFAULT_QUALITY


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str) and part.get("type", "text") == "text":
                    parts.append(text)
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return ""


def _score_bounds(response_format: dict[str, Any]) -> tuple[int, int]:
    lo, hi = DEFAULT_SCORE_MIN, DEFAULT_SCORE_MAX
    js = response_format.get("json_schema")
    if isinstance(js, dict):
        schema = js.get("schema")
        if isinstance(schema, dict):
            props = schema.get("properties")
            score = props.get("score") if isinstance(props, dict) else None
            if isinstance(score, dict):
                mn, mx = score.get("minimum"), score.get("maximum")
                if isinstance(mn, (int, float)) and not isinstance(mn, bool):
                    lo = int(mn)
                if isinstance(mx, (int, float)) and not isinstance(mx, bool):
                    hi = int(mx)
    if lo > hi:
        lo, hi = hi, lo
    return lo, hi


def _error_body(message: str, type_: str, code: str | None, param: str | None = None) -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": type_, "param": param, "code": code}}
    ).encode()


def _error_response(
    status: int, message: str, type_: str, code: str | None, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        body=_error_body(message, type_, code),
        content_type=_JSON,
        headers=headers,
    )


def _unauthorized() -> web.Response:
    return _error_response(401, _INVALID_KEY_MESSAGE, "invalid_request_error", "invalid_api_key")


# ---------------------------------------------------------------------------------------------
# Fault rules


def _retry_after_header(value: float | None) -> str:
    if value is None:
        return "1"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# ---------------------------------------------------------------------------------------------
# Server state


class State:
    """Settings, fault rules and counters of one server process."""

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        judge_noise: int = 1,
        require_key: str | None = None,
    ) -> None:
        self.initial_config = {
            "latency_ms": float(latency_ms),
            "jitter_ms": float(jitter_ms),
            "judge_noise": int(judge_noise),
            "pairwise_bias": "none",
            "logprobs": "on",
            "logprobs_split": "separate",
        }
        self.expected_auth = f"Bearer {require_key}" if require_key else None
        self.in_flight = 0
        self._id_counter = 0
        self.reset()

    # -- config ------------------------------------------------------------------------------

    def reset(self) -> None:
        self.apply_config(self.initial_config)
        self.rules: list[Rule] = []
        self.calls = 0
        self.ok = 0
        self.faults = 0
        self.unauthorized = 0
        self.bad_requests = 0
        self.by_model: dict[str, int] = {}
        self.by_call = {"generate": 0, "judge": 0}
        self.by_fault: dict[str, int] = {}
        self.duplicates = 0
        self.seen: set[bytes] = set()
        self.arrivals: deque[tuple[float, str]] = deque(maxlen=10000)
        self.max_in_flight = self.in_flight

    def apply_config(self, settings: dict[str, Any]) -> None:
        unknown = set(settings) - set(CONFIG_KEYS)
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}; expected some of {list(CONFIG_KEYS)}")
        latency = number(settings["latency_ms"], "latency_ms") if "latency_ms" in settings else None
        jitter = number(settings["jitter_ms"], "jitter_ms") if "jitter_ms" in settings else None
        noise = None
        if "judge_noise" in settings:
            noise = number(settings["judge_noise"], "judge_noise")
            if not noise.is_integer():
                raise ValueError(f"judge_noise must be an integer, got {settings['judge_noise']!r}")
        for key, allowed in (("pairwise_bias", PAIRWISE_BIASES), ("logprobs", LOGPROBS_MODES),
                             ("logprobs_split", LOGPROBS_SPLITS)):
            if key in settings and settings[key] not in allowed:
                raise ValueError(f"{key} must be one of {list(allowed)}")
        if latency is not None:
            self.latency_ms = latency
        if jitter is not None:
            self.jitter_ms = jitter
        if noise is not None:
            self.judge_noise = int(noise)
        if "pairwise_bias" in settings:
            self.pairwise_bias = settings["pairwise_bias"]
        self.logprobs: str = settings.get("logprobs", getattr(self, "logprobs", "on"))
        self.logprobs_split: str = settings.get("logprobs_split", getattr(self, "logprobs_split", "separate"))

    def config(self) -> dict[str, Any]:
        return {"latency_ms": self.latency_ms, "jitter_ms": self.jitter_ms, "judge_noise": self.judge_noise,
                "pairwise_bias": self.pairwise_bias, "logprobs": self.logprobs, "logprobs_split": self.logprobs_split}

    # -- per request -------------------------------------------------------------------------

    def delay_s(self) -> float:
        latency = self.latency_ms
        jitter = self.jitter_ms
        if jitter:
            latency += random.uniform(-jitter, jitter)
        return latency / 1000.0 if latency > 0 else 0.0

    def next_id(self) -> str:
        self._id_counter += 1
        return f"chatcmpl-fake{self._id_counter:012x}"

    def record_ok(self, payload: dict[str, Any]) -> None:
        self.ok += 1
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha1(canonical.encode("utf-8", "surrogatepass")).digest()
        seen = self.seen
        if digest in seen:
            self.duplicates += 1
        else:
            seen.add(digest)

    def stats(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "ok": self.ok,
            "faults": self.faults,
            "by_model": dict(self.by_model),
            "by_call": dict(self.by_call),
            "by_fault": dict(self.by_fault),
            "duplicates": self.duplicates,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "unauthorized": self.unauthorized,
            "bad_requests": self.bad_requests,
        }


# ---------------------------------------------------------------------------------------------
# Building answers


def _completion(state: State, model: str, content: str, prompt_tokens: int,
                logprobs: dict[str, Any] | None = None) -> web.Response:
    completion_tokens = max(1, len(content.split()))
    body = {
        "id": state.next_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_assay_fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "logprobs": logprobs,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return web.Response(body=json.dumps(body).encode(), content_type=_JSON)


class _Parsed:
    """What the handler needs from a chat-completions body, computed once."""

    __slots__ = (
        "is_judge",
        "is_pairwise",
        "last_user",
        "logprobs",
        "model",
        "pair_field",
        "response_format",
        "seed",
        "text",
        "top_logprobs",
    )

    def __init__(self, payload: dict[str, Any]) -> None:
        model = payload.get("model")
        messages = payload.get("messages")
        if not isinstance(model, str) or not model:
            raise ValueError("you must provide a model parameter")
        if not isinstance(messages, list) or not messages:
            raise ValueError("'messages' must be a non-empty array")
        texts = []
        last_user: str | None = None
        last_any = ""
        for msg in messages:
            if not isinstance(msg, dict):
                raise ValueError("each message must be an object")
            text = _content_text(msg.get("content"))
            texts.append(text)
            last_any = text
            if msg.get("role") == "user":
                last_user = text
        rf = payload.get("response_format")
        self.model = model
        self.response_format = rf if isinstance(rf, dict) else None
        self.is_judge = self.response_format is not None and self.response_format.get("type") in (
            "json_schema",
            "json_object",
        )
        self.text = "\n".join(texts)
        self.last_user = last_user if last_user is not None else last_any
        self.seed = payload.get("seed")
        schema = ((self.response_format or {}).get("json_schema") or {}).get("schema") or {}
        properties = schema.get("properties") or {}
        self.pair_field = next((f for f in ("winner", "verdict") if f in properties), None)
        self.is_pairwise = self.pair_field is not None
        self.logprobs = payload.get("logprobs") is True
        top = payload.get("top_logprobs")
        if top is not None and (isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= 20):
            raise ValueError("'top_logprobs' must be an integer from 0 to 20")
        if top is not None and not self.logprobs:
            raise ValueError("'logprobs' must be true when 'top_logprobs' is given")
        self.top_logprobs = top or 0

    @property
    def call(self) -> str:
        return "judge" if self.is_judge else "generate"

    def prompt_tokens(self) -> int:
        return max(1, len(self.text.split()))

    def bounds(self) -> tuple[int, int]:
        if self.response_format is None:
            return DEFAULT_SCORE_MIN, DEFAULT_SCORE_MAX
        return _score_bounds(self.response_format)


def _generation_content(p: _Parsed) -> str:
    q = model_quality(p.model)
    return f"[{p.model}] quality={q}. Answer: {p.last_user[:ANSWER_PREFIX_CHARS]}"


def _judge_content(p: _Parsed, judge_noise: int) -> str:
    lo, hi = p.bounds()
    text = p.text
    data = text.encode("utf-8", "surrogatepass")
    found = _QUALITY_RE.findall(text)
    if found:
        quality = int(found[-1])
        source = f"the answer reports quality {quality}"
    else:
        quality = lo + zlib.adler32(data) % (hi - lo + 1)
        source = "no quality marker found, so the score is derived from the text"
    noise = 0
    if judge_noise > 0:  # deterministic per request; a different seed (a repeated judgment) draws anew
        data += str(p.seed).encode()
        noise = zlib.crc32(data) % (2 * judge_noise + 1) - judge_noise
    score = min(hi, max(lo, quality + noise))
    reasoning = f"Fake judge: {source}; score {score} on a {lo}-{hi} scale."
    return json.dumps({"reasoning": reasoning, "score": score})


# ---------------------------------------------------------------------------------------------
# Handlers


async def _sleep_unless_disconnected(request: web.Request, seconds: float) -> bool:
    """Sleep, waking early if the client goes away. Returns True if the client is still there."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        transport = request.transport
        if transport is None or transport.is_closing():
            return False
        left = deadline - loop.time()
        if left <= 0:
            return True
        await asyncio.sleep(min(left, 0.05))


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _fault_response(rule: Rule, p: _Parsed, state: State, request: web.Request) -> web.Response:
    fault = rule.fault
    model = p.model
    if fault == "echo_headers":
        return _error_response(
            400,
            f"Invalid request (injected fault). Request headers: {json.dumps(dict(request.headers))}",
            "invalid_request_error",
            "invalid_request",
        )
    if fault == "429":
        return _error_response(
            429,
            f"Rate limit reached for {model} (injected fault). Please try again later.",
            "requests",
            "rate_limit_exceeded",
            headers={"Retry-After": _retry_after_header(rule.retry_after)},
        )
    if fault == "500":
        return _error_response(
            500,
            "The server had an error while processing your request. Sorry about that! (injected fault)",
            "server_error",
            None,
        )
    if fault == "502":
        return _error_response(502, "Bad gateway. (injected fault)", "server_error", None)
    if fault == "503":
        headers = {"Retry-After": _retry_after_header(rule.retry_after)} if rule.retry_after is not None else None
        return _error_response(
            503,
            "The engine is currently overloaded, please try again later. (injected fault)",
            "server_error",
            "overloaded",
            headers=headers,
        )
    if fault == "400":
        return _error_response(
            400,
            "Invalid request: the request body was rejected by the server (injected fault).",
            "invalid_request_error",
            "invalid_request",
        )
    if fault == "401":
        return _unauthorized()
    if fault == "404":
        return _error_response(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        )
    prompt_tokens = p.prompt_tokens()
    if fault == "malformed":
        return _completion(state, model, "The score is probably high", prompt_tokens)
    if fault == "out_of_range":
        _, hi = p.bounds()
        content = json.dumps({"reasoning": "Out-of-range score (injected fault).", "score": hi + 5})
        return _completion(state, model, content, prompt_tokens)
    if fault == "wrong_type":
        return _completion(state, model, '{"reasoning": "x", "score": "ten"}', prompt_tokens)
    if fault == "empty":
        return _completion(state, model, "", prompt_tokens)
    raise AssertionError(f"unhandled fault {fault}")  # pragma: no cover


FIVE_POINT = ("A>>B", "A>B", "A=B", "B>A", "B>>A")


def _quality_difference(p: _Parsed, bias: str) -> int:
    """Response A's quality minus response B's: the last two `quality=<n>` markers (shown last in the prompt).
    With bias "first" the judge acts as if response A were always better."""
    found = [int(q) for q in _QUALITY_RE.findall(p.text)]
    if bias == "first":
        return 3
    return found[-2] - found[-1] if len(found) >= 2 else 0


def _pair_answer(field: str, diff: int) -> str:
    if field == "verdict":  # five-point: a difference of 3 quality points or more is "much better"
        return FIVE_POINT[0 if diff >= 3 else 1 if diff > 0 else 2 if diff == 0 else 3 if diff > -3 else 4]
    return "A" if diff > 0 else "B" if diff < 0 else "tie"


def answer_probabilities(field: str, diff: int) -> dict[str, float]:
    """The fake judge's probability for each answer of a three-point verdict (a five-point one puts nearly all
    on its answer), with 2% left for a token that is no answer at all ("The")."""
    if field == "verdict":
        chosen = _pair_answer(field, diff)
        probs = {a: (0.9 if a == chosen else 0.1 / 4) for a in FIVE_POINT}
    elif diff == 0:
        probs = {"tie": 0.6, "A": 0.2, "B": 0.2}
    else:
        a = 1.0 / (1.0 + math.exp(-diff))
        probs = {"A": 0.9 * a, "B": 0.9 * (1.0 - a), "tie": 0.1}
    return {**{k: 0.98 * v for k, v in probs.items()}, "The": 0.02}


def _pairwise_content(p: _Parsed, bias: str) -> tuple[str, str, str]:
    """A pairwise verdict as (JSON before the answer, the answer, JSON after it)."""
    assert p.pair_field is not None
    answer = _pair_answer(p.pair_field, _quality_difference(p, bias))
    head = json.dumps({"reasoning": f"Fake pairwise judge ({bias} bias).", p.pair_field: ""})[:-2]
    return head, answer, '"}'


_TOKEN_RE = re.compile(r"\s?[A-Za-z]+|\s?\d+|\s?[^\w\s]+|\s+|\w+")


def _tokens(text: str) -> list[str]:
    """A tokenizer's cut, roughly: words and runs of punctuation, each with its leading space."""
    return _TOKEN_RE.findall(text)


def _logprob_entry(token: str, logprob: float, top: list[tuple[str, float]], n: int) -> dict[str, Any]:
    def one(t: str, lp: float) -> dict[str, Any]:
        return {"token": t, "logprob": lp, "bytes": list(t.encode("utf-8"))}
    ranked = sorted(top, key=lambda x: -x[1])[:n]
    return {**one(token, logprob), "top_logprobs": [one(t, lp) for t, lp in ranked]}


def _plain_logprobs(text: str, n: int) -> list[dict[str, Any]]:
    """Every token nearly certain, with an unlikely alternative."""
    return [_logprob_entry(t, -0.01, [(t, -0.01), (" the" if t != " the" else " a", -5.0)], n)
            for t in _tokens(text)]


def _pair_logprobs(head: str, answer: str, tail: str, probs: dict[str, float], split: str,
                   n: int) -> list[dict[str, Any]]:
    """The verdict's tokens, the answer's cut as `split` says, its alternatives the other answers."""
    before, after = _tokens(head), _tokens(tail)
    lead, trail = "", ""
    if split == "quoted":   # the answer shares a token with the quote before it: ` "A`
        lead = before.pop()
    elif split == "closing":  # the answer shares a token with what follows: `A"}`
        trail = after.pop(0)
    alternatives = [(lead + a + trail, math.log(p)) for a, p in probs.items()]
    middle = _logprob_entry(lead + answer + trail, math.log(probs[answer]), alternatives, n)
    return [*_plain_logprobs("".join(before), n), middle, *_plain_logprobs("".join(after), n)]


def _normal_response(p: _Parsed, state: State) -> web.Response:
    tokens: list[dict[str, Any]] | None = None
    if p.is_pairwise:
        assert p.pair_field is not None
        head, answer, tail = _pairwise_content(p, state.pairwise_bias)
        content = head + answer + tail
        if p.logprobs:
            probs = answer_probabilities(p.pair_field, _quality_difference(p, state.pairwise_bias))
            tokens = _pair_logprobs(head, answer, tail, probs, state.logprobs_split, p.top_logprobs)
    elif p.is_judge:
        content = _judge_content(p, state.judge_noise)
    else:
        content = _generation_content(p)
    if p.logprobs and tokens is None:
        tokens = _plain_logprobs(content, p.top_logprobs)
    logprobs = {"content": tokens, "refusal": None} if tokens is not None and state.logprobs == "on" else None
    return _completion(state, p.model, content, p.prompt_tokens(), logprobs)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    state: State = request.app["state"]
    state.calls += 1
    state.in_flight += 1
    if state.in_flight > state.max_in_flight:
        state.max_in_flight = state.in_flight
    try:
        if state.expected_auth is not None and request.headers.get("Authorization") != state.expected_auth:
            state.unauthorized += 1
            delay = state.delay_s()
            if delay:
                await asyncio.sleep(delay)
            return _unauthorized()

        body = await request.read()
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("the request body must be a JSON object")
            p = _Parsed(payload)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            state.bad_requests += 1
            return _error_response(400, f"Invalid request body: {exc}", "invalid_request_error", None)

        model = p.model
        call = p.call
        state.arrivals.append((time.monotonic(), model))
        state.by_model[model] = state.by_model.get(model, 0) + 1
        state.by_call[call] += 1

        rule = pick_rule(state.rules, model, call) if state.rules else None
        if rule is not None:
            state.faults += 1
            state.by_fault[rule.fault] = state.by_fault.get(rule.fault, 0) + 1
            if rule.fault == "drop":
                transport = request.transport
                if transport is not None:
                    transport.abort()
                # The transport is gone: aiohttp's attempt to write this response fails with a
                # ConnectionError, which it treats as a client disconnect (no log, no answer).
                return web.Response(status=500)

        delay = state.delay_s()
        if delay:
            await asyncio.sleep(delay)

        if rule is None:
            resp = _normal_response(p, state)
            state.record_ok(payload)
            return resp

        if rule.fault == "timeout":
            wait = rule.delay_s if rule.delay_s is not None else DEFAULT_TIMEOUT_DELAY_S
            if not await _sleep_unless_disconnected(request, wait) or _client_gone(request):
                return web.Response(status=504)  # nobody is listening any more
            resp = _normal_response(p, state)
            state.record_ok(payload)
            return resp

        return _fault_response(rule, p, state, request)
    finally:
        state.in_flight -= 1


async def list_models(request: web.Request) -> web.Response:
    state: State = request.app["state"]
    if state.expected_auth is not None and request.headers.get("Authorization") != state.expected_auth:
        return _unauthorized()
    delay = state.delay_s()
    if delay:
        await asyncio.sleep(delay)
    created = 1700000000
    data = [{"id": mid, "object": "model", "created": created, "owned_by": "assay-fake"} for mid in MODEL_IDS]
    return web.json_response({"object": "list", "data": data})


async def control_set_config(request: web.Request) -> web.Response:
    state: State = request.app["state"]
    raw = await read_json(request)
    if not isinstance(raw, dict):
        return bad_control("expected a JSON object of settings")
    try:
        state.apply_config(raw)  # validates every value before changing any
    except ValueError as exc:
        return bad_control(str(exc))
    return web.json_response(state.config())


async def control_get_config(request: web.Request) -> web.Response:
    return web.json_response(request.app["state"].config())


async def control_arrivals(request: web.Request) -> web.Response:
    return web.json_response(list(request.app["state"].arrivals))


async def control_reset(request: web.Request) -> web.Response:
    state: State = request.app["state"]
    state.reset()
    return web.json_response({"reset": True, "config": state.config()})


def make_app(state: State) -> web.Application:
    """The aiohttp application (usable in-process too, e.g. with aiohttp's test utilities)."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app["state"] = state
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", list_models)
    add_control_routes(app, FAULT_KINDS)
    app.router.add_post("/_control/config", control_set_config)
    app.router.add_get("/_control/config", control_get_config)
    app.router.add_post("/_control/reset", control_reset)
    app.router.add_get("/_control/arrivals", control_arrivals)
    return app


# ---------------------------------------------------------------------------------------------
# Process entry point


def _bind(host: str, port: int) -> socket.socket:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, socktype, proto, _, addr = infos[0]
    sock = socket.socket(family, socktype, proto)
    try:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(1024)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


async def serve(args: argparse.Namespace) -> None:
    state = State(
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        judge_noise=args.judge_noise,
        require_key=args.require_key,
    )
    sock = _bind(args.host, args.port)
    await serve_app(make_app(state), sock, args.host, exit_on_stdin_eof=args.exit_on_stdin_eof, backlog=1024)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m assay.testing.fake_server",
        description="OpenAI-compatible fake model server with latency and fault injection.",
    )
    ap.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=0, help="port (0 = pick a free one)")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="added latency per /v1 call")
    ap.add_argument("--jitter-ms", type=float, default=0.0, help="uniform +/- jitter on the latency")
    ap.add_argument("--judge-noise", type=int, default=1, help="judge score noise amplitude (default 1)")
    ap.add_argument("--require-key", default=None, help="require 'Authorization: Bearer KEY' on /v1")
    ap.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="exit when stdin is closed (used by the test harness so servers never outlive it)",
    )
    args = ap.parse_args(argv)
    if args.latency_ms < 0 or args.jitter_ms < 0 or args.judge_noise < 0:
        ap.error("--latency-ms, --jitter-ms and --judge-noise must be >= 0")
    return args


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
