"""What the fake servers (`fake_server`, OpenAI-compatible, and `fake_anthropic`) share: fault rules and how a
request picks one, the control endpoints for faults and stats, and serving until the process is told to stop.

Each server keeps its own fault kinds (passed in here), settings, answers and ``/_control/reset``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Collection
from typing import Any

from aiohttp import web

CALL_KINDS = frozenset({"judge", "generate"})


def number(value: Any, name: str) -> float:
    """``value`` as a float when it is a number >= 0 (not a bool); otherwise ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


# ---------------------------------------------------------------------------------------------
# Fault rules


class Rule:
    """One fault rule, validated: ``{"fault": F, "times": N | null, "model": name?, "call": "judge"|"generate"?,
    "retry_after": seconds?, "delay_s": seconds?}`` with F one of ``kinds``. Invalid rules raise ValueError."""

    __slots__ = ("fault", "times", "model", "call", "retry_after", "delay_s")

    def __init__(self, raw: Any, kinds: Collection[str]) -> None:
        if not isinstance(raw, dict):
            raise ValueError(f"a fault rule must be a JSON object, got {raw!r}")
        unknown = set(raw) - set(self.__slots__)
        if unknown:
            raise ValueError(f"unknown fault rule keys: {sorted(unknown)}")
        fault = raw.get("fault")
        if isinstance(fault, int) and not isinstance(fault, bool):
            fault = str(fault)
        if fault not in kinds:
            raise ValueError(f"unknown fault {raw.get('fault')!r}; expected one of {sorted(kinds)}")
        times = raw.get("times")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
            raise ValueError(f"times must be a non-negative integer or null, got {times!r}")
        model = raw.get("model")
        if model is not None and not isinstance(model, str):
            raise ValueError(f"model must be a string, got {model!r}")
        call = raw.get("call")
        if call is not None and call not in CALL_KINDS:
            raise ValueError(f"call must be 'judge' or 'generate', got {call!r}")
        retry_after = raw.get("retry_after")
        delay_s = raw.get("delay_s")
        self.fault: str = str(fault)  # one of kinds, all strings
        self.times: int | None = times
        self.model: str | None = model
        self.call: str | None = call
        self.retry_after = number(retry_after, "retry_after") if retry_after is not None else None
        self.delay_s = number(delay_s, "delay_s") if delay_s is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def pick_rule(rules: list[Rule], model: str, call: str) -> Rule | None:
    """The first rule that matches the request and has times left; its ``times`` drops by one."""
    for rule in rules:
        if rule.times is not None and rule.times <= 0:
            continue
        if rule.model is not None and rule.model != model:
            continue
        if rule.call is not None and rule.call != call:
            continue
        if rule.times is not None:
            rule.times -= 1
        return rule
    return None


# ---------------------------------------------------------------------------------------------
# Control endpoints


async def read_json(request: web.Request) -> Any:
    """The request's JSON body (an empty body is null); invalid JSON answers 400."""
    try:
        return json.loads(await request.read() or b"null")
    except ValueError as exc:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"invalid JSON: {exc}"}),
                                 content_type="application/json") from exc


def bad_control(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def add_control_routes(app: web.Application, fault_kinds: Collection[str]) -> None:
    """``POST``/``GET /_control/faults`` and ``GET /_control/stats`` on ``app["state"]`` (its ``rules`` and
    ``stats()``)."""

    async def set_faults(request: web.Request) -> web.Response:
        raw = await read_json(request)
        if not isinstance(raw, list):
            return bad_control("expected a JSON list of fault rules")
        try:
            rules = [Rule(item, fault_kinds) for item in raw]
        except ValueError as exc:
            return bad_control(str(exc))
        request.app["state"].rules = rules
        return web.json_response({"faults": [r.to_dict() for r in rules]})

    async def get_faults(request: web.Request) -> web.Response:
        return web.json_response({"faults": [r.to_dict() for r in request.app["state"].rules]})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(request.app["state"].stats())

    app.router.add_post("/_control/faults", set_faults)
    app.router.add_get("/_control/faults", get_faults)
    app.router.add_get("/_control/stats", stats)


# ---------------------------------------------------------------------------------------------
# Process entry point


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Stop the server when stdin reaches EOF (the parent that holds the pipe went away)."""

    fd = sys.stdin.fileno()

    def run() -> None:
        # os.read on the raw descriptor: a daemon thread blocked inside sys.stdin's buffered
        # reader would hold its lock and make interpreter shutdown abort.
        try:
            while os.read(fd, 4096):
                pass
        except OSError:
            pass
        try:
            loop.call_soon_threadsafe(stop.set)
        except RuntimeError:  # loop already closed
            pass

    threading.Thread(target=run, name="stdin-watch", daemon=True).start()


async def serve_app(app: web.Application, sock: socket.socket, host: str, *, exit_on_stdin_eof: bool,
                    backlog: int = 128) -> None:
    """Serve ``app`` on the bound socket, print ``LISTENING http://HOST:PORT`` to stdout once ready, and run until
    SIGTERM or SIGINT, or (with ``exit_on_stdin_eof``) until stdin closes."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    await web.SockSite(runner, sock, backlog=backlog, shutdown_timeout=0.5).start()

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # e.g. Windows
            pass
    if exit_on_stdin_eof:
        _watch_stdin(loop, stop)

    sys.stdout.write(f"LISTENING http://{url_host(host)}:{sock.getsockname()[1]}\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
