"""Tests of the fake OpenAI-compatible server, through real HTTP against a subprocess."""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assay.testing import FakeServer, FakeServerError

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

VERDICT_SCHEMA_1_10 = {
    "type": "json_schema",
    "json_schema": {
        "name": "verdict",
        "schema": {
            "type": "object",
            "properties": {
                "reasoning": {"type": "string"},
                "score": {"type": "integer", "minimum": 1, "maximum": 10},
            },
            "required": ["reasoning", "score"],
        },
    },
}


def judge_format(lo: int | None = None, hi: int | None = None) -> dict[str, Any]:
    score: dict[str, Any] = {"type": "integer"}
    if lo is not None:
        score["minimum"] = lo
    if hi is not None:
        score["maximum"] = hi
    return {
        "type": "json_schema",
        "json_schema": {"name": "verdict", "schema": {"type": "object", "properties": {"score": score}}},
    }


class Reply:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.raw = body

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    @property
    def content(self) -> str:
        return self.json["choices"][0]["message"]["content"]


def http(
    url: str,
    body: Any = None,
    *,
    method: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
    raw: bytes | None = None,
) -> Reply:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"))
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return Reply(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.headers, exc.read())


def chat(server: FakeServer, model: str = "strong-q8", text: str = "What is 2+2?", **extra: Any) -> Reply:
    body = {"model": model, "messages": [{"role": "user", "content": text}], **extra}
    return http(server.url + "/chat/completions", body)


def judge(server: FakeServer, text: str, rf: dict[str, Any] | None = None, model: str = "judge") -> Reply:
    return chat(server, model=model, text=text, response_format=rf or VERDICT_SCHEMA_1_10)


def verdict(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, reply.raw
    return json.loads(reply.content)


@pytest.fixture(scope="module")
def server():
    with FakeServer.start() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(request):
    if "server" in request.fixturenames:
        request.getfixturevalue("server").reset()
    yield


# ---------------------------------------------------------------------------------------------
# Normal answers


def test_generation_response_shape(server):
    r = chat(server, model="strong-q8", text="What is two plus two?", temperature=0.2, max_tokens=50, seed=1)
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert isinstance(body["created"], int)
    assert body["model"] == "strong-q8"
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "[strong-q8] quality=8. Answer: What is two plus two?"
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] == 5
    assert usage["completion_tokens"] == len(choice["message"]["content"].split())
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_generation_uses_last_user_message_parts_and_default_quality(server):
    long_text = "x" * 500
    body = {
        "model": "plain-model",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": [{"type": "text", "text": long_text}]},
        ],
    }
    r = http(server.url + "/chat/completions", body)
    assert r.status == 200
    assert r.content == "[plain-model] quality=5. Answer: " + "x" * 200
    assert r.json["usage"]["prompt_tokens"] == 2 + 2 + 2 + 1
    # Deterministic: same request, same content.
    assert http(server.url + "/chat/completions", body).content == r.content


@pytest.mark.parametrize("model,q", [("weak-q3", 3), ("strong-q8", 8), ("x-q12", 12), ("q8", 5), ("m-q", 5)])
def test_quality_from_model_name(server, model, q):
    assert chat(server, model=model, text="hi").content.startswith(f"[{model}] quality={q}. Answer: ")


def test_judge_response_shape_and_score(server):
    server.configure(judge_noise=0)
    r = judge(server, "Rubric example: quality=2 is bad.\nAnswer to grade: [strong-q8] quality=7. Answer: 4")
    assert r.status == 200
    body = r.json
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["finish_reason"] == "stop"
    v = json.loads(body["choices"][0]["message"]["content"])
    assert set(v) == {"reasoning", "score"}
    assert isinstance(v["reasoning"], str) and v["reasoning"]
    assert v["score"] == 7  # the *last* quality= wins
    assert isinstance(v["score"], int)


def test_judge_quality_from_previous_generation(server):
    server.configure(judge_noise=0)
    answer = chat(server, model="weak-q3", text="Explain gravity").content
    assert verdict(judge(server, f"Grade this answer:\n{answer}"))["score"] == 3


def test_judge_score_is_clamped_to_schema_range(server):
    server.configure(judge_noise=0)
    assert verdict(judge(server, "quality=9", judge_format(1, 5)))["score"] == 5
    assert verdict(judge(server, "quality=0", judge_format(1, 5)))["score"] == 1
    assert verdict(judge(server, "quality=4", judge_format(1, 5)))["score"] == 4
    assert verdict(judge(server, "quality=-3", judge_format(0, 3)))["score"] == 0
    # Defaults 1..10 when the schema gives no bounds, and for json_object.
    assert verdict(judge(server, "quality=15", judge_format()))["score"] == 10
    assert verdict(judge(server, "quality=15", {"type": "json_object"}))["score"] == 10
    assert verdict(judge(server, "quality=-4", {"type": "json_object"}))["score"] == 1


def test_judge_noise_is_deterministic_and_bounded(server):
    scores = []
    for i in range(40):
        text = f"item {i}: quality=5"
        a = verdict(judge(server, text))["score"]
        b = verdict(judge(server, text))["score"]
        assert a == b
        scores.append(a)
    assert set(scores) <= {4, 5, 6}
    assert len(set(scores)) >= 2  # the default noise amplitude is 1

    server.configure(judge_noise=3)
    wide = {verdict(judge(server, f"item {i}: quality=5"))["score"] for i in range(60)}
    assert wide <= set(range(2, 9)) and len(wide) >= 4

    server.configure(judge_noise=0)
    assert {verdict(judge(server, f"item {i}: quality=5"))["score"] for i in range(20)} == {5}


def test_judge_without_quality_marker_is_deterministic(server):
    a = verdict(judge(server, "no marker here", judge_format(1, 5)))["score"]
    b = verdict(judge(server, "no marker here", judge_format(1, 5)))["score"]
    assert a == b and 1 <= a <= 5


def test_models_endpoint(server):
    r = http(server.url + "/models")
    assert r.status == 200
    body = r.json
    assert body["object"] == "list"
    ids = [m["id"] for m in body["data"]]
    assert len(ids) >= 2 and all(isinstance(i, str) for i in ids)


def test_invalid_body_is_400(server):
    r = http(server.url + "/chat/completions", raw=b"{not json")
    assert r.status == 400
    assert r.json["error"]["type"] == "invalid_request_error"
    r = http(server.url + "/chat/completions", {"model": "m"})
    assert r.status == 400
    s = server.stats()
    assert s["calls"] == 2 and s["ok"] == 0 and s["bad_requests"] == 2


# ---------------------------------------------------------------------------------------------
# Faults


@pytest.mark.parametrize(
    "fault,status,type_",
    [
        ("429", 429, "requests"),
        ("500", 500, "server_error"),
        ("502", 502, "server_error"),
        ("503", 503, "server_error"),
        ("400", 400, "invalid_request_error"),
        ("401", 401, "invalid_request_error"),
        ("404", 404, "invalid_request_error"),
    ],
)
def test_status_faults(server, fault, status, type_):
    server.set_faults([{"fault": fault, "times": 1}])
    r = chat(server, model="weak-q3")
    assert r.status == status
    err = r.json["error"]
    assert err["type"] == type_
    assert isinstance(err["message"], str) and err["message"]
    if fault == "429":
        assert r.headers["Retry-After"] == "1"
    if fault == "404":
        assert "The model `weak-q3` does not exist" in err["message"]
    if fault == "401":
        assert err["code"] == "invalid_api_key"
    # Only once: the next call is normal.
    assert chat(server, model="weak-q3").status == 200
    s = server.stats()
    assert s["faults"] == 1 and s["ok"] == 1 and s["calls"] == 2
    assert s["by_fault"] == {fault: 1}


def test_retry_after_values(server):
    server.set_faults([
        {"fault": 429, "times": 1, "retry_after": 3},
        {"fault": "503", "times": 1, "retry_after": 2},
        {"fault": "503", "times": 1},
        {"fault": "429", "times": 1, "retry_after": 0.5},
    ])
    assert chat(server).headers["Retry-After"] == "3"
    assert chat(server).headers["Retry-After"] == "2"
    r = chat(server)
    assert r.status == 503 and "Retry-After" not in r.headers
    r = chat(server)
    assert r.status == 429 and float(r.headers["Retry-After"]) == 0.5


def test_drop_gives_client_connection_error(server):
    server.set_faults([{"fault": "drop", "times": 1}])

    async def go():
        async with aiohttp.ClientSession() as session:
            body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
            with pytest.raises(aiohttp.ClientConnectionError) as info:
                async with session.post(server.url + "/chat/completions", json=body) as resp:
                    await resp.read()
            # The same session recovers on the next call.
            async with session.post(server.url + "/chat/completions", json=body) as resp:
                assert resp.status == 200
                await resp.json()
            return info.value

    exc = asyncio.run(go())
    assert isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError))
    s = server.stats()
    assert s["faults"] == 1 and s["ok"] == 1 and s["by_fault"] == {"drop": 1}
    assert server.stderr() == ""  # no tracebacks logged for the drop


def test_drop_with_urllib(server):
    server.set_faults([{"fault": "drop", "times": 1}])
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        chat(server)


def test_timeout_fault_client_times_out(server):
    server.set_faults([{"fault": "timeout", "times": 1, "delay_s": 10}])
    t0 = time.monotonic()
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        http(server.url + "/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "x"}]},
             timeout=0.3)
    assert time.monotonic() - t0 < 2
    # The server notices the client left and stops waiting (it does not hold the slot for 10 s).
    deadline = time.monotonic() + 3
    while server.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.02)
    s = server.stats()
    assert s["in_flight"] == 0 and s["faults"] == 1 and s["ok"] == 0


def test_timeout_fault_answers_after_delay(server):
    server.set_faults([{"fault": "timeout", "times": 1, "delay_s": 0.3}])
    t0 = time.monotonic()
    r = chat(server, model="strong-q8", text="slow")
    assert time.monotonic() - t0 >= 0.3
    assert r.status == 200 and r.content == "[strong-q8] quality=8. Answer: slow"


def test_bad_content_faults(server):
    server.set_faults([
        {"fault": "malformed", "times": 1},
        {"fault": "out_of_range", "times": 1},
        {"fault": "wrong_type", "times": 1},
        {"fault": "empty", "times": 1},
    ])
    rf = judge_format(1, 5)

    r = judge(server, "quality=3", rf)
    assert r.status == 200
    with pytest.raises(ValueError):
        json.loads(r.content)

    r = judge(server, "quality=3", rf)
    assert r.status == 200
    v = json.loads(r.content)
    assert v["score"] == 10 and isinstance(v["reasoning"], str)

    r = judge(server, "quality=3", rf)
    assert r.status == 200 and json.loads(r.content) == {"reasoning": "x", "score": "ten"}

    r = judge(server, "quality=3", rf)
    assert r.status == 200 and r.content == ""
    assert r.json["choices"][0]["message"]["role"] == "assistant"

    s = server.stats()
    assert s["faults"] == 4 and s["ok"] == 0
    assert s["by_fault"] == {"malformed": 1, "out_of_range": 1, "wrong_type": 1, "empty": 1}


def test_times_counts_down_and_null_is_forever(server):
    server.set_faults([{"fault": "500", "times": 2}])
    assert [chat(server).status for _ in range(3)] == [500, 500, 200]
    assert server.faults()[0]["times"] == 0

    server.set_faults([{"fault": "502", "times": None}])
    assert [chat(server).status for _ in range(5)] == [502] * 5
    assert server.faults()[0]["times"] is None

    server.set_faults([{"fault": "502"}])  # times omitted = forever
    assert [chat(server).status for _ in range(3)] == [502] * 3


def test_rules_match_model_and_call_in_order(server):
    server.set_faults([
        {"fault": "404", "model": "weak-q3", "times": 1},
        {"fault": "429", "call": "judge", "times": 2},
        {"fault": "503", "call": "generate", "times": 1},
        {"fault": "500", "times": 1},
    ])
    assert chat(server, model="strong-q8").status == 503  # rule 3: first generate call
    assert chat(server, model="weak-q3").status == 404  # rule 1
    assert judge(server, "quality=5", model="weak-q3").status == 429  # rule 1 used up -> rule 2
    assert judge(server, "quality=5").status == 429
    assert judge(server, "quality=5").status == 500  # rule 2 used up -> rule 4
    assert judge(server, "quality=5").status == 200
    assert chat(server, model="weak-q3").status == 200
    assert [r["times"] for r in server.faults()] == [0, 0, 0, 0]


def test_non_matching_rules_do_not_count_down(server):
    server.set_faults([{"fault": "429", "model": "other", "times": 1}, {"fault": "500", "call": "judge", "times": 1}])
    for _ in range(3):
        assert chat(server, model="strong-q8").status == 200
    assert [r["times"] for r in server.faults()] == [1, 1]


def test_set_faults_replaces_list(server):
    server.set_faults([{"fault": "500"}])
    server.set_faults([])
    assert chat(server).status == 200


def test_invalid_rules_and_settings_are_rejected(server):
    with pytest.raises(FakeServerError, match="unknown fault"):
        server.set_faults([{"fault": "418"}])
    with pytest.raises(FakeServerError, match="call"):
        server.set_faults([{"fault": "500", "call": "both"}])
    with pytest.raises(FakeServerError, match="times"):
        server.set_faults([{"fault": "500", "times": -1}])
    with pytest.raises(FakeServerError, match="unknown settings"):
        server.configure(latency=5)
    with pytest.raises(FakeServerError):
        server.configure(latency_ms=-1)
    assert server.faults() == []
    assert server.config()["latency_ms"] == 0


# ---------------------------------------------------------------------------------------------
# Latency, stats, concurrency


def test_latency_and_jitter(server):
    cfg = server.configure(latency_ms=150, jitter_ms=50)
    assert cfg == {"latency_ms": 150, "jitter_ms": 50, "judge_noise": 1, "pairwise_bias": "none",
                   "logprobs": "on", "logprobs_split": "separate"}
    t0 = time.monotonic()
    assert chat(server).status == 200
    assert 0.09 <= time.monotonic() - t0 < 1.5
    # Latency applies to faults too.
    server.set_faults([{"fault": "500", "times": 1}])
    t0 = time.monotonic()
    assert chat(server).status == 500
    assert time.monotonic() - t0 >= 0.09
    assert server.configure(latency_ms=0, jitter_ms=0)["latency_ms"] == 0


def test_stats_counters_and_duplicates(server):
    body = {"model": "strong-q8", "messages": [{"role": "user", "content": "same"}], "temperature": 0}
    same_reordered = {"temperature": 0, "messages": [{"content": "same", "role": "user"}], "model": "strong-q8"}
    url = server.url + "/chat/completions"
    assert http(url, body).status == 200
    assert http(url, same_reordered).status == 200  # same canonical body: a duplicate
    assert http(url, body).status == 200  # another duplicate
    judge(server, "quality=4", model="weak-q3")
    server.set_faults([{"fault": "429", "times": 1}])
    assert http(url, {**body, "temperature": 1}).status == 429  # faulted: not ok, not seen
    assert http(url, {**body, "temperature": 1}).status == 200  # first success for this body
    s = server.stats()
    assert s["calls"] == 6
    assert s["ok"] == 5
    assert s["faults"] == 1
    assert s["duplicates"] == 2
    assert s["by_model"] == {"strong-q8": 5, "weak-q3": 1}
    assert s["by_call"] == {"generate": 5, "judge": 1}
    assert s["in_flight"] == 0


def test_max_in_flight(server):
    server.configure(latency_ms=1500)  # long enough for all eight to be seen in flight on a busy machine
    n = 8
    results: list[int] = []

    def worker(i: int) -> None:
        results.append(chat(server, text=f"q{i}").status)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    seen = 0
    deadline = time.monotonic() + 1.2
    while seen < n and time.monotonic() < deadline:
        seen = max(seen, server.stats()["in_flight"])
        time.sleep(0.01)
    for t in threads:
        t.join()
    assert results == [200] * n
    assert seen == n
    s = server.stats()
    assert s["max_in_flight"] == n and s["in_flight"] == 0 and s["ok"] == n


def test_many_concurrent_requests(server):
    async def go() -> list[int]:
        sem = asyncio.Semaphore(32)
        async with aiohttp.ClientSession() as session:
            async def one(i: int) -> int:
                async with sem:
                    body = {"model": f"m{i % 3}-q{i % 10}", "messages": [{"role": "user", "content": f"q {i}"}]}
                    async with session.post(server.url + "/chat/completions", json=body) as resp:
                        await resp.read()
                        return resp.status
            return await asyncio.gather(*(one(i) for i in range(600)))

    assert set(asyncio.run(go())) == {200}
    s = server.stats()
    assert s["calls"] == s["ok"] == 600 and s["duplicates"] == 0
    assert sum(s["by_model"].values()) == 600


def test_reset(server):
    server.configure(latency_ms=5, judge_noise=0)
    server.set_faults([{"fault": "500", "times": 1}])
    chat(server)
    chat(server)
    chat(server)
    assert server.stats()["duplicates"] == 1
    server.reset()
    assert server.faults() == []
    assert server.config() == {"latency_ms": 0, "jitter_ms": 0, "judge_noise": 1, "pairwise_bias": "none",
                   "logprobs": "on", "logprobs_split": "separate"}
    s = server.stats()
    assert (s["calls"], s["ok"], s["faults"], s["duplicates"], s["max_in_flight"]) == (0, 0, 0, 0, 0)
    assert s["by_model"] == {} and s["by_call"] == {"generate": 0, "judge": 0}
    chat(server)
    assert server.stats()["duplicates"] == 0  # the seen-set was cleared too


# ---------------------------------------------------------------------------------------------
# API key, start-up settings and the harness


def test_require_key():
    with FakeServer.start(require_key="sk-test", latency_ms=20, judge_noise=0) as s:
        assert s.api_key == "sk-test"
        expected = {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                              "code": "invalid_api_key"}}
        for headers in (None, {"Authorization": "Bearer wrong"}, {"Authorization": "sk-test"}):
            r = http(s.url + "/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "x"}]},
                     headers=headers)
            assert r.status == 401
            err = r.json["error"]
            assert {k: err[k] for k in ("message", "type", "code")} == expected["error"]
        assert http(s.url + "/models").status == 401
        ok = {"Authorization": "Bearer sk-test"}
        r = http(s.url + "/chat/completions",
                 {"model": "j", "messages": [{"role": "user", "content": "quality=6"}],
                  "response_format": VERDICT_SCHEMA_1_10}, headers=ok)
        assert r.status == 200 and json.loads(r.content)["score"] == 6  # --judge-noise 0 applied
        assert http(s.url + "/models", headers=ok).status == 200
        # Control endpoints need no key; start-up settings are what reset restores.
        assert s.config() == {"latency_ms": 20, "jitter_ms": 0, "judge_noise": 0, "pairwise_bias": "none",
                   "logprobs": "on", "logprobs_split": "separate"}
        s.configure(latency_ms=0)
        s.reset()
        assert s.config()["latency_ms"] == 20
        st = s.stats()
        assert st["calls"] == 0


def test_harness_handle_and_stop():
    s = FakeServer.start()
    try:
        assert s.url.startswith("http://127.0.0.1:") and s.url.endswith("/v1")
        assert s.url == f"http://127.0.0.1:{s.port}/v1"
        assert isinstance(s.pid, int) and s.running
    finally:
        s.stop()
    assert not s.running
    s.stop()  # idempotent
    with pytest.raises(FakeServerError):
        s.stats()


def test_start_failure_reports_stderr(server):
    # The port is taken by the module's server: the child fails to bind and says why.
    with pytest.raises(FakeServerError, match="(?s)exited before it was ready.*Address already in use"):
        FakeServer.start(port=server.port, startup_timeout=10)


def test_cli_prints_listening_line():
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assay.testing.fake_server", "--port", "0", "--latency-ms", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        line = proc.stdout.readline().decode()
        assert line.startswith("LISTENING http://127.0.0.1:") and line.endswith("\n")
        port = int(line.strip().rsplit(":", 1)[1])
        assert http(f"http://127.0.0.1:{port}/v1/models").status == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
        proc.stdout.close()
        proc.stderr.close()


def test_pairwise_verdicts_follow_quality_or_the_position_bias(server):
    schema = {"type": "object", "properties": {"reasoning": {"type": "string"},
                                               "winner": {"type": "string", "enum": ["A", "B", "tie"]}}}
    body = {"model": "judge", "messages": [{"role": "user", "content": "A: x quality=3\nB: y quality=7"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "v", "schema": schema}}}
    req = lambda: urllib.request.Request(server.url + "/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
    assert json.loads(json.loads(urllib.request.urlopen(req()).read())["choices"][0]["message"]["content"])["winner"] == "B"
    server.configure(pairwise_bias="first")
    assert json.loads(json.loads(urllib.request.urlopen(req()).read())["choices"][0]["message"]["content"])["winner"] == "A"


PAIR_FORMAT = {"type": "json_schema", "json_schema": {"name": "v", "schema": {
    "type": "object", "properties": {"reasoning": {"type": "string"},
                                     "winner": {"type": "string", "enum": ["A", "B", "tie"]}}}}}


@pytest.mark.parametrize("split, answer_token", [("separate", "A"), ("quoted", ' "A'), ("closing", 'A"}')])
def test_logprobs_in_the_api_shape_with_the_answer_cut_as_asked(server, split, answer_token):
    server.configure(logprobs_split=split)
    reply = chat(server, model="judge", text="A: x quality=7\nB: y quality=3", response_format=PAIR_FORMAT,
                 logprobs=True, top_logprobs=3)
    assert reply.status == 200, reply.raw
    choice = reply.json["choices"][0]
    tokens = choice["logprobs"]["content"]
    assert "".join(t["token"] for t in tokens) == choice["message"]["content"]
    for t in tokens:
        assert set(t) == {"token", "logprob", "bytes", "top_logprobs"} and t["logprob"] <= 0
        assert bytes(t["bytes"]) == t["token"].encode() and len(t["top_logprobs"]) <= 3
    (answer,) = [t for t in tokens if t["token"] == answer_token]
    top = {a["token"]: a["logprob"] for a in answer["top_logprobs"]}
    # Response A is 4 quality points better: A is the likeliest answer, and the answer's token is the chosen one.
    assert max(top, key=top.get) == answer_token and answer["logprob"] == top[answer_token]
    assert len(top) == 3 and all(math.exp(lp) < 1 for lp in top.values())


def test_logprobs_can_be_switched_off_and_are_checked(server):
    server.configure(logprobs="off")
    reply = chat(server, logprobs=True, top_logprobs=2)
    assert reply.status == 200 and reply.json["choices"][0]["logprobs"] is None
    assert chat(server, top_logprobs=2).status == 400  # top_logprobs needs logprobs: true, as in the API
    assert chat(server, logprobs=True, top_logprobs=21).status == 400
    server.configure(logprobs="on")
    plain = chat(server, logprobs=True)
    assert all(t["top_logprobs"] == [] for t in plain.json["choices"][0]["logprobs"]["content"])
