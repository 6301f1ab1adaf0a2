"""API keys never reach the database, the terminal or a message, even when a provider's error echoes the
request's headers."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from assay.redact import REDACTED, redact, watch
from conftest import Project

# Not shaped like a token on purpose: only knowing the variable's value can catch it.
KEY = "plain-looking-value-4f9d2a7c"
KEY_ENV = "ASSAY_TEST_SECRET_KEY"


def test_redact_replaces_key_values_and_token_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "default-provider-key-123")
    monkeypatch.setenv("SOME_GATEWAY_VAR", "gateway-secret-9876")
    watch("SOME_GATEWAY_VAR")
    text = ("default-provider-key-123 / gateway-secret-9876 / {'Authorization': 'Bearer abc.DEF-123_x'} / "
            "x-api-key: sk-ant-api03-AbCdEf123456 / task-1234567890 stays / short x stays")
    out = redact(text)
    for secret in ("default-provider-key-123", "gateway-secret-9876", "abc.DEF-123_x", "sk-ant-api03-AbCdEf123456"):
        assert secret not in out
    assert out.count(REDACTED) == 4 and "Bearer [redacted]" in out
    assert "task-1234567890 stays / short x stays" in out
    assert redact("HTTP 500: the server had an error") == "HTTP 500: the server had an error"


def _every_byte(project: Project) -> bytes:
    """The database file and its WAL and shared-memory files, whatever exists of them."""
    files = [Path(f"{project.db}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def test_a_key_echoed_by_the_provider_is_never_stored_or_printed(project: Project,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    project.model("strong", "strong-q8", api_key_env=KEY_ENV)
    project.model("judge", "judge-model", api_key_env=KEY_ENV)
    spec = project.spec(candidates=["strong", "weak"])
    # Some generations and some verdicts fail with an error that echoes the request's headers.
    project.server.set_faults([{"fault": "echo_headers", "times": 3, "model": "strong-q8", "call": "generate"},
                               {"fault": "echo_headers", "times": 4, "model": "judge-model", "call": "judge"}])
    printed = []
    result = project.cli("run", str(spec), "--json", ok=False)
    printed += [result.stdout, result.stderr]
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert project.server.stats()["by_fault"]["echo_headers"] == 7  # the key really was echoed, seven times
    run_id = data["run"]["id"]
    for args in (["results", run_id], ["results", run_id, "--json"], ["runs"], ["runs", "--json"]):
        result = project.cli(*args)
        printed += [result.stdout, result.stderr]
    project.server.set_faults([{"fault": "echo_headers", "model": "strong-q8"}])
    for args in (["models", "test", "strong"], ["models", "test", "strong", "--json"]):
        result = project.cli(*args, ok=False)
        assert result.exit_code == 1
        printed += [result.stdout, result.stderr]
    shown = "".join(printed)
    assert "Request headers" in shown and "Bearer [redacted]" in shown  # the echoes were shown, redacted
    assert KEY not in shown
    with sqlite3.connect(project.db) as db:
        errors = [e for (e,) in db.execute("select error from calls where error is not null "
                                           "union all select error from outputs where error is not null "
                                           "union all select error from judgments where error is not null")]
    assert sum("Request headers" in e for e in errors) >= 7
    assert KEY.encode() not in _every_byte(project)
