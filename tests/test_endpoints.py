"""Dead endpoints: a malformed base_url is refused when the config loads; an endpoint that can't be reached stops
the run in seconds with one clear message, before any candidate generates (or, with the check skipped, as soon
as a model's first calls all fail to connect)."""

from __future__ import annotations

import socket
import time

import pytest

from conftest import Project, chat_rows, write_jsonl


def _dead_url() -> str:
    with socket.socket() as s:  # a port nothing listens on once this socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _one_error(stderr: str) -> str:
    """The one error message (it may run over a few lines), with no traceback."""
    assert "Traceback" not in stderr
    assert stderr.startswith("error:"), stderr
    assert sum(line.startswith("error:") for line in stderr.splitlines()) == 1, stderr
    return stderr


@pytest.mark.parametrize("url", ["127.0.0.1:8000/v1", "localhost/v1", "ftp://127.0.0.1/v1", "http:///v1",
                                 "http://127.0.0.1:99999/v1"])
def test_a_base_url_that_is_not_a_url_is_refused_when_the_config_loads(project: Project, url: str) -> None:
    project.model("strong", "strong-q8", base_url=url)
    result = project.cli("run", str(project.spec(candidates=["strong"])), ok=False)
    assert result.exit_code == 2
    error = _one_error(result.stderr)
    assert "assay.yaml" in error and "strong" in error and "base_url" in error and "http" in error
    assert project.server.stats()["calls"] == 0


@pytest.mark.parametrize("dead", ["candidate", "judge"])
def test_a_dead_port_stops_the_run_before_it_starts(project: Project, dead: str) -> None:
    write_jsonl(project.root / "data.jsonl", chat_rows(5))
    url = _dead_url()
    if dead == "candidate":
        project.model("strong", "strong-q8", base_url=url, retry_backoff_s=1.0)
    else:
        project.model("judge", "judge-model", base_url=url, retry_backoff_s=1.0)
    start = time.monotonic()
    result = project.cli("run", str(project.spec(candidates=["strong"])), ok=False)
    assert time.monotonic() - start < 5
    assert result.exit_code == 2
    error = _one_error(result.stderr)
    assert url in error and ("strong" if dead == "candidate" else "judge") in error
    assert project.server.stats()["calls"] == 0  # no candidate generated for a judge that can't answer


@pytest.mark.parametrize("skip", ["flag", "setting"])
def test_with_the_check_skipped_a_dead_port_stops_the_run_at_its_first_calls(project: Project, skip: str) -> None:
    write_jsonl(project.root / "data.jsonl", chat_rows(5))
    url = _dead_url()
    project.model("strong", "strong-q8", base_url=url, retry_backoff_s=1.0, concurrency=1)
    spec = project.spec(candidates=["strong"], settings={"check_endpoints": False} if skip == "setting" else None)
    start = time.monotonic()
    result = project.cli("run", str(spec), *(["--no-endpoint-check"] if skip == "flag" else []), ok=False)
    assert time.monotonic() - start < 10
    assert result.exit_code == 2
    error = _one_error(result.stderr)
    assert url in error and "strong" in error and "--resume" in error


def test_a_dead_judge_found_at_its_first_calls_stops_the_run_before_every_candidate_generates(
        project: Project) -> None:
    write_jsonl(project.root / "data.jsonl", chat_rows(40))
    project.model("strong", "strong-q8", concurrency=2)
    project.model("judge", "judge-model", base_url=_dead_url(), retry_backoff_s=1.0)
    result = project.cli("run", str(project.spec(candidates=["strong"])), "--no-endpoint-check", ok=False)
    assert result.exit_code == 2
    _one_error(result.stderr)
    assert project.server.stats()["calls"] < 20


def test_an_endpoint_that_answers_without_a_models_list_passes_the_check(project: Project,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("anthropic")
    from assay.testing import FakeAnthropicServer

    monkeypatch.setenv("FAKE_CLAUDE_KEY", "sk-test")
    with FakeAnthropicServer.start() as claude:  # it has no GET /v1/models: a 404, but an answer
        project.model("claude", "claude-q7", provider="anthropic", base_url=claude.url,
                      api_key_env="FAKE_CLAUDE_KEY")
        data = project.run_json(project.spec(candidates=["claude"]))
    assert data["counts"]["outputs"] == {"done": 12}
