"""The `anthropic` provider, through the official SDK and real HTTP, against a local Messages API server."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from typing import Any

import pytest
from conftest import Project, chat_rows, write_jsonl

from assay.config.models import ModelSpec
from assay.engine.oneshot import call_once
from assay.errors import FatalProviderError, RetryableError, SpecError
from assay.judge import verdict_schema
from assay.providers import CompletionRequest, create_provider
from assay.rubric import JUDGE_SYSTEM_PROMPT, Rubric
from assay.testing.fake_anthropic import FakeAnthropicServer

anthropic = pytest.importorskip("anthropic")

KEY = "sk-ant-test-not-a-real-key"
KEY_ENV = "ASSAY_TEST_ANTHROPIC_KEY"


@pytest.fixture(scope="module")
def _claude_server() -> Any:
    server = FakeAnthropicServer.start(require_key=KEY)
    yield server
    server.stop()


@pytest.fixture()
def claude_server(_claude_server: FakeAnthropicServer, monkeypatch: pytest.MonkeyPatch) -> FakeAnthropicServer:
    _claude_server.reset()
    monkeypatch.setenv(KEY_ENV, KEY)
    return _claude_server


def claude(project: Project, server: FakeAnthropicServer, label: str, model: str, **settings: Any) -> None:
    project.models[label] = {"provider": "anthropic", "base_url": server.url, "model": model,
                             "api_key_env": KEY_ENV, "retry_backoff_s": 0.01, "timeout_s": 5, **settings}


@pytest.fixture()
def cp(project: Project, claude_server: FakeAnthropicServer) -> Project:
    """The project with every model (candidates strong/weak, the judge) on the fake Anthropic server."""
    project.models.clear()
    claude(project, claude_server, "strong", "claude-strong-q8")
    claude(project, claude_server, "weak", "claude-weak-q4")
    claude(project, claude_server, "judge", "claude-judge")
    return project


def _model(data: dict, label: str, rubric: str = "quality") -> dict:
    r = next(r for r in data["rubrics"] if r["rubric"] == rubric)
    return next(m for m in r["models"] if m["model"] == label)


def _db(project: Project, sql: str) -> list[tuple]:
    with sqlite3.connect(project.db) as db:
        return db.execute(sql).fetchall()


def test_a_run_with_anthropic_candidates_and_judge_scores_every_output(cp: Project,
                                                                      claude_server: FakeAnthropicServer) -> None:
    data = cp.run_json(cp.spec(candidates=["strong", "weak"]))
    strong, weak = _model(data, "strong"), _model(data, "weak")
    assert (strong["n_scored"], strong["n_failed"], strong["mean"]) == (12, 0, 8.0)
    assert (weak["n_scored"], weak["n_failed"], weak["mean"]) == (12, 0, 4.0)
    assert "strong is better than weak by 4" in data["comparisons"][0]["sentence"]
    stats = claude_server.stats()
    assert stats["by_call"] == {"generate": 24, "judge": 24} and stats["faults"] == 0
    assert cp.server.stats()["calls"] == 0  # nothing went to the OpenAI-compatible server
    usage = data["usage"]["strong"]
    assert usage["calls"] == 12 and usage["input_tokens"] > 0 and usage["output_tokens"] > 0


def test_requests_take_the_messages_api_shape(cp: Project, claude_server: FakeAnthropicServer) -> None:
    claude(cp, claude_server, "strong", "claude-strong-q8", system_prompt="Answer briefly.", max_tokens=300)
    write_jsonl(cp.root / "data.jsonl", chat_rows(1))
    cp.run_json(cp.spec(candidates=["strong"]))
    generate, judge = sorted(claude_server.requests(), key=lambda r: "tools" in r)
    # System prompts travel in the top-level `system` parameter; messages hold only user/assistant turns.
    assert generate["system"] == "Answer briefly." and generate["max_tokens"] == 300
    assert [m["role"] for m in generate["messages"]] == ["user"]
    assert generate["messages"][0]["content"] == "Question number 0: what is 0 plus 0?"
    assert "tools" not in generate and "tool_choice" not in generate
    assert judge["system"] == JUDGE_SYSTEM_PROMPT and judge["max_tokens"] == 1024  # the API requires one
    assert [m["role"] for m in judge["messages"]] == ["user"]
    # Structured output is a single forced tool whose input schema is the verdict schema.
    rubric = Rubric(name="quality", description="How good is the response (quality)?", scale={"min": 1, "max": 10})
    (tool,) = judge["tools"]
    assert tool["name"] == "record_verdict" and tool["input_schema"] == verdict_schema(rubric)
    assert judge["tool_choice"] == {"type": "tool", "name": "record_verdict"}
    for request in (generate, judge):
        assert request["headers"]["anthropic-version"]
        assert "***" in (request["headers"].get("x-api-key"), request["headers"].get("authorization"))
        assert "temperature" not in request and "top_p" not in request


def test_verdicts_come_from_the_tool_input_within_the_rubric_scale(cp: Project,
                                                                  claude_server: FakeAnthropicServer) -> None:
    cp.rubric("short", scale={"min": 1, "max": 5})
    write_jsonl(cp.root / "data.jsonl", chat_rows(4))
    data = cp.run_json(cp.spec(candidates=["strong", "weak"], rubrics=["short.yaml"]))
    assert _model(data, "strong", "short")["mean"] == 5.0  # quality 8, clamped to the schema's maximum
    assert _model(data, "weak", "short")["mean"] == 4.0
    raws = [json.loads(raw) for (raw,) in _db(cp, "select raw from judgments where status = 'done'")
            if raw is not None]
    assert all(set(r) == {"reasoning", "score"} and 1 <= r["score"] <= 5 for r in raws)


def test_429_529_and_500_are_retried_honouring_retry_after(cp: Project, claude_server: FakeAnthropicServer) -> None:
    write_jsonl(cp.root / "data.jsonl", chat_rows(1))
    claude_server.set_faults([
        {"fault": "429", "times": 2, "retry_after": 0.4, "call": "generate"},
        {"fault": "529", "times": 1, "call": "judge"},
        {"fault": "500", "times": 1, "call": "judge"},
    ])
    start = time.monotonic()
    data = cp.run_json(cp.spec(candidates=["strong"]))
    assert time.monotonic() - start >= 0.8  # two waits of at least the server's retry-after
    assert data["counts"] == {"outputs": {"done": 1}, "judgments": {"done": 1}}
    assert _model(data, "strong")["mean"] == 8.0
    stats = claude_server.stats()
    assert stats["calls"] == 6 and stats["by_call"] == {"generate": 3, "judge": 3}
    assert stats["by_fault"] == {"429": 2, "529": 1, "500": 1}
    errors = sorted(e for (e,) in _db(cp, "select error from calls where ok = 0"))
    assert len(errors) == 4
    assert sum("HTTP 429 (rate_limit_error)" in e for e in errors) == 2
    assert any("HTTP 529 (overloaded_error)" in e for e in errors) and any("HTTP 500" in e for e in errors)


def test_401_and_400_fail_fast_with_the_apis_message(cp: Project, claude_server: FakeAnthropicServer) -> None:
    claude_server.set_faults([{"fault": "401", "model": "claude-weak-q4"},
                              {"fault": "400", "model": "claude-judge", "times": 2}])
    data = cp.run_json(cp.spec(candidates=["strong", "weak"], settings={"judge_retries": 0}), exit_code=1)
    stats = claude_server.stats()
    assert stats["by_model"]["claude-weak-q4"] == 12  # one call per sample: no retries
    assert data["counts"]["outputs"] == {"done": 12, "failed": 12}
    ((error,),) = _db(cp, "select distinct error from outputs where status = 'failed'")
    assert "HTTP 401 (authentication_error)" in error and "invalid x-api-key" in error
    # The two 400s each failed one judgment of `strong` at once: 12 judge calls for 12 judgments.
    assert stats["by_model"]["claude-judge"] == 12
    assert _model(data, "strong")["n_scored"] == 10 and _model(data, "strong")["n_failed"] == 2
    judged = _db(cp, "select error from judgments where status = 'failed' and candidate = 'strong'")
    assert all("HTTP 400 (invalid_request_error)" in e for (e,) in judged)


def test_a_wrong_key_is_refused_by_the_server_and_fails_fast(cp: Project, claude_server: FakeAnthropicServer,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-ant-wrong")
    write_jsonl(cp.root / "data.jsonl", chat_rows(3))
    data = cp.run_json(cp.spec(candidates=["strong"]), exit_code=1)
    assert data["counts"]["outputs"] == {"failed": 3}
    assert claude_server.stats()["unauthorized"] == 3  # no retries
    assert b"sk-ant-wrong" not in cp.db.read_bytes()


def test_an_answer_without_the_tool_becomes_a_failed_judgment_never_a_score(
        cp: Project, claude_server: FakeAnthropicServer) -> None:
    claude_server.set_faults([{"fault": "no_tool", "call": "judge"}])  # every verdict request, forever
    write_jsonl(cp.root / "data.jsonl", chat_rows(3))
    data = cp.run_json(cp.spec(candidates=["strong"], settings={"judge_retries": 1}), exit_code=1)
    strong = _model(data, "strong")
    assert strong["n_scored"] == 0 and strong["n_failed"] == 3
    assert claude_server.stats()["by_call"]["judge"] == 6  # each judgment tried twice
    rows = _db(cp, "select status, score, error, raw from judgments")
    assert len(rows) == 3
    for status, score, error, raw in rows:
        assert status == "failed" and score is None
        assert "not valid JSON" in error and "about an 8" in raw


def test_a_missing_key_variable_is_a_clean_error_before_any_call(cp: Project, claude_server: FakeAnthropicServer,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    result = cp.cli("run", str(cp.spec(candidates=["strong"])), "--json", ok=False)
    assert result.exit_code == 2
    assert KEY_ENV in result.output and "is not set" in result.output and "Traceback" not in result.output
    assert claude_server.stats()["calls"] == 0


def test_the_default_key_variable_is_anthropic_api_key(claude_server: FakeAnthropicServer,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    spec = ModelSpec(label="c", provider="anthropic", model="claude-x", base_url=claude_server.url)
    with pytest.raises(SpecError, match="ANTHROPIC_API_KEY"):
        create_provider(spec)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    completion = asyncio.run(call_once(spec, CompletionRequest(messages=[{"role": "user", "content": "hi"}])))
    assert completion.text.startswith("[claude-x] quality=5.")


def test_offline_mode_refuses_the_real_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with pytest.raises(SpecError, match="ASSAY_OFFLINE=1 forbids calling api.anthropic.com"):
        create_provider(ModelSpec(label="c", provider="anthropic", model="claude-x"))


def test_a_missing_sdk_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)  # `import anthropic` now raises ImportError
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with pytest.raises(SpecError, match=r"pip install 'assay\[anthropic\]'"):
        create_provider(ModelSpec(label="c", provider="anthropic", model="claude-x", base_url="http://127.0.0.1:9"))


def test_a_base_url_ending_in_v1_still_reaches_the_messages_endpoint(claude_server: FakeAnthropicServer) -> None:
    spec = ModelSpec(label="c", provider="anthropic", model="claude-q6", base_url=claude_server.url + "/v1/",
                     api_key_env=KEY_ENV)
    completion = asyncio.run(call_once(spec, CompletionRequest(messages=[{"role": "user", "content": "hi"}])))
    assert completion.text.startswith("[claude-q6] quality=6.")


def test_timeouts_are_retryable(claude_server: FakeAnthropicServer) -> None:
    spec = ModelSpec(label="c", provider="anthropic", model="claude-x", base_url=claude_server.url,
                     api_key_env=KEY_ENV, timeout_s=0.3, max_retries=0)
    request = CompletionRequest(messages=[{"role": "user", "content": "hi"}])
    claude_server.set_faults([{"fault": "timeout", "times": 1, "delay_s": 2}])
    with pytest.raises(RetryableError, match="timed out after 0.3s"):
        asyncio.run(call_once(spec, request))
    claude_server.set_faults([{"fault": "timeout", "times": 1, "delay_s": 2}])
    retried = spec.model_copy(update={"max_retries": 1, "retry_backoff_s": 0.01})
    assert asyncio.run(call_once(retried, request)).text.startswith("[claude-x]")


def test_sampling_parameters_are_sent_or_refused_up_front(cp: Project, claude_server: FakeAnthropicServer) -> None:
    from assay.providers.anthropic import _sampling_route

    claude(cp, claude_server, "strong", "claude-strong-q8", temperature=0.3)
    write_jsonl(cp.root / "data.jsonl", chat_rows(1))
    spec = cp.spec(candidates=["strong"])
    if _sampling_route(anthropic):  # an SDK whose API version still takes sampling parameters
        cp.run_json(spec)
        generate = next(r for r in claude_server.requests() if "tools" not in r)
        assert generate["temperature"] == 0.3
    else:  # SDK 2.x: API version 2026-10-21 rejects them, so the entry is refused before any call
        result = cp.cli("run", str(spec), "--json", ok=False)
        assert result.exit_code == 2 and "'strong'" in result.output and "temperature" in result.output
        assert claude_server.stats()["calls"] == 0


def test_openai_shaped_messages_are_mapped(claude_server: FakeAnthropicServer) -> None:
    from assay.providers.anthropic import _messages

    system, messages = _messages([
        {"role": "system", "content": "Be kind."},
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": [{"type": "text", "text": "Look:"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ])
    assert system == "Be kind.\n\nBe brief."
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["content"] == [
        {"type": "text", "text": "Look:"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]
    assert "lookup" in messages[1]["content"] and messages[2]["content"] == "[tool result] 42"


def test_models_test_works_for_an_anthropic_entry(cp: Project, claude_server: FakeAnthropicServer) -> None:
    cp.write_config()
    result = json.loads(cp.cli("models", "test", "judge", "--json").stdout)
    assert result["plain"]["ok"] and result["plain"]["answer"].startswith("[claude-judge]")
    assert result["structured"]["ok"] and 1 <= result["structured"]["score"] <= 5


def _send(spec: ModelSpec, messages: list[dict[str, Any]], **request: Any) -> Any:
    return asyncio.run(call_once(spec, CompletionRequest(messages=messages, **request)))


def _spec(server: FakeAnthropicServer, model: str = "claude-q6") -> ModelSpec:
    return ModelSpec(label="c", provider="anthropic", model=model, base_url=server.url, api_key_env=KEY_ENV,
                     max_retries=0)


def test_the_fake_server_rejects_empty_text_as_the_real_api_does(claude_server: FakeAnthropicServer) -> None:
    import urllib.error
    import urllib.request

    def post(messages: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        body = json.dumps({"model": "claude-x", "max_tokens": 10, "messages": messages}).encode()
        request = urllib.request.Request(claude_server.url + "/v1/messages", data=body, method="POST", headers={
            "x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"})
        try:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    for messages, message in [
        ([{"role": "user", "content": ""}],
         "messages.0: all messages must have non-empty content except for the optional final assistant message"),
        ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": []}, {"role": "user", "content": "x"}],
         "messages.1: all messages must have non-empty content"),
        ([{"role": "user", "content": [{"type": "text", "text": ""}]}], "text content blocks must be non-empty"),
        ([{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": " \n"}]}],
         "text content blocks must contain non-whitespace text"),
        ([{"role": "user", "content": " "}], "text content blocks must contain non-whitespace text"),
        ([{"role": "user", "content": [{"type": "text", "text": None}]}], "messages.0.content.0.text"),
    ]:
        status, answer = post(messages)
        assert status == 400 and message in answer["error"]["message"], (messages, answer)
    # The optional final assistant turn (a prefill) may be empty.
    assert post([{"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}])[0] == 200
    assert claude_server.stats()["bad_requests"] == 6


def test_empty_turns_and_null_text_are_never_sent_as_empty_text(claude_server: FakeAnthropicServer) -> None:
    from assay.providers.anthropic import EMPTY_TURN, _messages

    conversation = [
        {"role": "system", "content": "  "},
        {"role": "user", "content": "Question one? quality=3"},
        {"role": "assistant", "content": ""},                                        # dropped
        {"role": "user", "content": [{"type": "text", "text": None}, "", {"type": "text", "text": "Still there?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": " "}]},           # dropped
        {"role": "user", "content": ""},                                             # sent as [empty message]
    ]
    system, messages = _messages(conversation)
    assert system == ""
    assert messages == [
        {"role": "user", "content": "Question one? quality=3"},
        {"role": "user", "content": [{"type": "text", "text": "Still there?"}]},
        {"role": "user", "content": EMPTY_TURN}]
    assert "None" not in json.dumps(messages)
    # An empty final assistant turn (an empty prefill) is dropped too; a conversation of nothing can't be sent.
    assert _messages([{"role": "user", "content": "hi"}, {"role": "assistant", "content": None}])[1] == [
        {"role": "user", "content": "hi"}]
    with pytest.raises(FatalProviderError, match="every message is empty"):
        _messages([{"role": "assistant", "content": ""}])

    # The server, strict as the real API, accepts what the provider sends: a generation and a judge call.
    spec = _spec(claude_server)
    assert _send(spec, conversation).text.startswith("[claude-q6] quality=6.")
    rubric = Rubric(name="quality", description="How good is the response (quality)?", scale={"min": 1, "max": 10})
    judged = _send(spec, conversation, json_schema=verdict_schema(rubric))
    assert json.loads(judged.text)["score"] == 3
    assert claude_server.stats()["bad_requests"] == 0
    sent = claude_server.requests()[0]
    assert "system" not in sent and [m["role"] for m in sent["messages"]] == ["user", "user", "user"]


def test_a_url_encoded_data_url_is_decoded_before_base64(claude_server: FakeAnthropicServer) -> None:
    import base64

    from assay.providers.anthropic import _image_block

    svg = '<svg xmlns="http://www.w3.org/2000/svg"/>'
    block = _image_block({"image_url": {"url": "data:image/svg+xml,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org"
                                               "%2F2000%2Fsvg%22%2F%3E"}})
    assert block["source"]["media_type"] == "image/svg+xml"
    assert base64.b64decode(block["source"]["data"]).decode() == svg
    raw = _image_block({"image_url": "data:text/plain;charset=utf-8,caf%C3%A9%20au%20lait"})
    assert base64.b64decode(raw["source"]["data"]).decode("utf-8") == "café au lait"
    # Already base64: kept as it is (a percent-encoded '+' or '=' decoded).
    assert _image_block({"image_url": "data:image/png;base64,AA%2BB%3D"})["source"]["data"] == "AA+B="
    assert _image_block({"image_url": "data:image/png;base64,AAAA"})["source"]["data"] == "AAAA"


def test_the_forced_tool_is_described_after_the_requested_structure(claude_server: FakeAnthropicServer) -> None:
    from assay.rubric.generate import proposal_schema
    from assay.judge import pairwise_schema

    spec = _spec(claude_server)
    rubric = Rubric(name="quality", description="How good is the response (quality)?", scale={"min": 1, "max": 5})
    for schema in (verdict_schema(rubric), pairwise_schema(), proposal_schema(True)):
        _send(spec, [{"role": "user", "content": "hi quality=4"}], json_schema=schema)
    verdict, pair, proposal = claude_server.requests()
    assert verdict["tools"][0]["name"] == "record_verdict" and "then the score" in verdict["tools"][0]["description"]
    assert pair["tools"][0]["name"] == "record_verdict" and "(A or B), or tie" in pair["tools"][0]["description"]
    (tool,) = proposal["tools"]
    assert tool["name"] == "record_answer" and proposal["tool_choice"] == {"type": "tool", "name": "record_answer"}
    assert tool["description"] == "Record your answer in the required structure (fields: rubrics)."
    assert "score" not in tool["description"] and tool["input_schema"] == proposal_schema(True)
