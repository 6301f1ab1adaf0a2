"""Client-side handle on a fake model server running in a subprocess.

    with FakeServer.start(latency_ms=100) as server:
        server.set_faults([{"fault": "429", "times": 2, "retry_after": 0}])
        ...  # point an OpenAI-compatible client at server.url
        print(server.stats())

The server runs as a separate process (``python -m assay.testing.fake_server``) so that its CPU
time is not the client's, and so that it keeps running (and counting) if the client is killed.
Control calls are synchronous ``urllib`` requests to the ``/_control`` endpoints. `ServerProcess` holds what
every such handle shares; `FakeAnthropicServer` (in ``fake_anthropic``) is the other one.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["FakeServer", "FakeServerError"]

# src/assay/testing/harness.py -> src/  (so the child can import assay even if it isn't installed)
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])

# Never route control calls through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FakeServerError(RuntimeError):
    """The fake server failed to start, or a control call failed."""


def _terminate(proc: subprocess.Popen[bytes], stderr_file: IO[bytes] | None, timeout: float = 5.0) -> None:
    if proc.poll() is None:
        try:
            proc.terminate()
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
        except OSError:
            pass
    for stream in (proc.stdin, proc.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass
    if stderr_file is not None:
        try:
            stderr_file.close()
        except OSError:
            pass


def _read_tail(f: IO[bytes] | None, limit: int = 8000) -> str:
    if f is None:
        return ""
    try:
        f.flush()
        f.seek(0)
        data = f.read()
    except (OSError, ValueError):
        return ""
    return data[-limit:].decode("utf-8", "replace").strip()


class ServerProcess:
    """A fake server running in a subprocess (``python -m MODULE``): its life cycle and its ``/_control`` calls.

    Subclasses name the module, start it with :meth:`_launch` and add their API's URL and control methods.
    """

    _MODULE = ""
    _NAME = "fake server"  # in error messages
    url: str  # the API's base URL, set by each subclass

    def __init__(self, proc: subprocess.Popen[bytes], root_url: str, stderr_file: IO[bytes], api_key: str | None):
        self._proc = proc
        self._stderr_file = stderr_file
        #: ``http://127.0.0.1:PORT`` (no trailing slash)
        self.root_url = root_url.rstrip("/")
        #: the key the server requires (``None`` if it requires none)
        self.api_key = api_key
        self._finalizer = weakref.finalize(self, _terminate, proc, stderr_file)

    # -- life cycle ------------------------------------------------------------------------------

    @classmethod
    def _launch(
        cls, args: list[str], env: dict[str, str] | None, startup_timeout: float
    ) -> tuple[subprocess.Popen[bytes], str, IO[bytes]]:
        """Launch ``python -m MODULE ARGS --exit-on-stdin-eof`` and wait until it prints ``LISTENING URL``.

        Returns the process, the URL and the file holding its stderr. Raises :class:`FakeServerError` (with the
        child's output) if it exits or doesn't report ``LISTENING`` within ``startup_timeout`` seconds. The
        server exits by itself when this process goes away (it watches its stdin pipe), so it never outlives
        its parent.
        """
        cmd = [sys.executable, "-m", cls._MODULE, *args, "--exit-on-stdin-eof"]
        child_env = dict(os.environ if env is None else env)
        paths = [p for p in child_env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if _PACKAGE_ROOT not in paths:
            child_env["PYTHONPATH"] = os.pathsep.join([_PACKAGE_ROOT, *paths])
        child_env.setdefault("PYTHONUNBUFFERED", "1")

        # stderr goes to a file, not a pipe: nobody reads it while the server runs, and a full pipe
        # would block the server.
        prefix = "assay-" + cls._MODULE.rsplit(".", 1)[-1].replace("_", "-") + "-"
        stderr_file = tempfile.TemporaryFile(prefix=prefix, suffix=".stderr")
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr_file,
                env=child_env,
            )
        except BaseException:
            stderr_file.close()
            raise

        lines: queue.Queue[bytes] = queue.Queue()

        def pump() -> None:
            # Forward stdout lines until EOF; keeps the pipe drained for the server's lifetime.
            assert proc.stdout is not None
            try:
                for line in iter(proc.stdout.readline, b""):
                    lines.put(line)
            except (OSError, ValueError):
                pass
            lines.put(b"")

        threading.Thread(target=pump, name=f"fake-server-stdout-{proc.pid}", daemon=True).start()

        deadline = time.monotonic() + startup_timeout
        seen: list[str] = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise FakeServerError(
                        f"{cls._NAME} (pid {proc.pid}) did not report LISTENING within {startup_timeout:g}s"
                        + _describe_output(seen, _read_tail(stderr_file))
                    )
                try:
                    raw = lines.get(timeout=min(left, 0.1))
                except queue.Empty:
                    continue
                if raw == b"":  # stdout closed: the process is exiting
                    try:
                        code = proc.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        code = None
                    raise FakeServerError(
                        f"{cls._NAME} exited before it was ready (exit code {code})"
                        + _describe_output(seen, _read_tail(stderr_file))
                    )
                line = raw.decode("utf-8", "replace").strip()
                if line.startswith("LISTENING "):
                    return proc, line.split(" ", 1)[1].strip(), stderr_file
                seen.append(line)
        except BaseException:
            _terminate(proc, stderr_file)
            raise

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after ``timeout``). Safe to call twice."""
        if self._finalizer.alive:
            self._finalizer.detach()
            _terminate(self._proc, self._stderr_file, timeout)

    def stderr(self) -> str:
        """What the server wrote to stderr so far (tail)."""
        return _read_tail(self._stderr_file) if self._finalizer.alive else ""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {self.url} pid={self.pid} {state}>"

    # -- control -----------------------------------------------------------------------------

    def set_faults(self, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Replace the fault rules. Returns the rules as the server stored them."""
        stored: list[dict[str, Any]] = self._control("POST", "/_control/faults", list(rules))["faults"]
        return stored

    def faults(self) -> list[dict[str, Any]]:
        """The current fault rules, with the ``times`` each has left."""
        faults: list[dict[str, Any]] = self._control("GET", "/_control/faults")["faults"]
        return faults

    def stats(self) -> dict[str, Any]:
        """Counters: calls, ok, faults, by_model, by_call, by_fault, ... (see the server module's ``State.stats``)."""
        stats: dict[str, Any] = self._control("GET", "/_control/stats")
        return stats

    def arrivals(self) -> list[tuple[float, str]]:
        """(seconds on the server's monotonic clock, model) of each chat-completions request, oldest first."""
        return [(t, model) for t, model in self._control("GET", "/_control/arrivals")]

    def reset(self) -> None:
        """Clear faults and counters, and restore the settings the server started with."""
        self._control("POST", "/_control/reset")

    def _control(self, method: str, path: str, payload: Any = None, timeout: float = 10.0) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(self.root_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(req, timeout=timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")
            try:
                message = json.loads(body).get("error", body)
            except (ValueError, AttributeError):
                message = body
            raise FakeServerError(f"{method} {path} failed with HTTP {exc.code}: {message}") from None
        except (urllib.error.URLError, OSError) as exc:
            alive = "running" if self.running else f"exited with code {self._proc.returncode}"
            raise FakeServerError(f"{method} {path} failed: {exc} (server {alive})") from exc


class FakeServer(ServerProcess):
    """A running fake OpenAI-compatible server. Create it with :meth:`FakeServer.start`."""

    _MODULE = "assay.testing.fake_server"

    def __init__(self, proc: subprocess.Popen[bytes], root_url: str, stderr_file: IO[bytes], api_key: str | None):
        super().__init__(proc, root_url, stderr_file, api_key)
        #: the OpenAI-style base URL: ``http://127.0.0.1:PORT/v1``
        self.url = self.root_url + "/v1"
        self.port = int(self.root_url.rsplit(":", 1)[1])

    @classmethod
    def start(
        cls,
        latency_ms: float = 0,
        jitter_ms: float = 0,
        require_key: str | None = None,
        *,
        judge_noise: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 20.0,
        env: dict[str, str] | None = None,
    ) -> FakeServer:
        """Launch ``python -m assay.testing.fake_server`` and wait until it listens.

        Raises :class:`FakeServerError` (with the child's stderr) if it exits or doesn't report
        ``LISTENING`` within ``startup_timeout`` seconds. The server exits by itself when this
        process goes away (it watches its stdin pipe), so it never outlives its parent.
        """
        args = ["--host", host, "--port", str(port), "--latency-ms", repr(float(latency_ms)),
                "--jitter-ms", repr(float(jitter_ms))]
        if judge_noise is not None:
            args += ["--judge-noise", str(int(judge_noise))]
        if require_key is not None:
            args += ["--require-key", require_key]
        return cls(*cls._launch(args, env, startup_timeout), require_key)

    # -- control -----------------------------------------------------------------------------

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change settings (latency_ms, jitter_ms, judge_noise). Returns the full current config."""
        config: dict[str, Any] = self._control("POST", "/_control/config", settings)
        return config

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = self._control("GET", "/_control/config")
        return config


def _describe_output(stdout_lines: list[str], stderr: str) -> str:
    out = ""
    if stdout_lines:
        out += "\n--- stdout ---\n" + "\n".join(stdout_lines[-20:])
    if stderr:
        out += "\n--- stderr ---\n" + stderr
    return out
