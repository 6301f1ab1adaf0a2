"""An unexpected failure inside the engine stops the run with the error (never a hang), and the run is marked
failed; a provider answer of the wrong shape is a retryable provider error, not a crash."""

from __future__ import annotations

import asyncio
import re
import sqlite3

import pytest

import assay
from assay.providers import Completion, CompletionRequest, register
from conftest import Project, chat_rows, write_jsonl


class _BrokenJudge:
    """Answers generations, then fails the way a bug would on the third judge call."""

    def __init__(self, spec) -> None:
        self.calls = 0

    async def complete(self, request: CompletionRequest) -> Completion:
        if request.json_schema is None:
            return Completion(text="an answer quality=5")
        self.calls += 1
        if self.calls == 3:
            raise ValueError("a bug in a provider")
        return Completion(text='{"reasoning": "ok", "score": 5}')

    async def aclose(self) -> None:
        return None


@pytest.mark.timeout(60)
def test_an_unexpected_error_in_a_worker_stops_the_run(project: Project) -> None:
    register("broken-for-test", _BrokenJudge)
    write_jsonl(project.root / "data.jsonl", chat_rows(200))  # far more work than the queues hold
    project.models["judge"] = {"provider": "broken-for-test", "model": "x", "concurrency": 2}
    spec = assay.load_spec(project.spec(candidates=["strong"]))
    with pytest.raises(ValueError, match="a bug in a provider"):
        assay.run(spec, db=project.db)
    with sqlite3.connect(project.db) as db:
        assert db.execute("select status from runs").fetchone() == ("failed",)


async def _answer_once(body: dict) -> Completion:
    """Ask the openai provider once, against a local server that answers every request with `body`."""
    from aiohttp import web

    from assay.config import ModelSpec
    from assay.providers.openai import OpenAIProvider

    async def answer(request: web.Request) -> web.Response:
        return web.json_response(body)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    provider = OpenAIProvider(ModelSpec(label="m", model="m", base_url=f"http://127.0.0.1:{port}/v1"))
    try:
        return await provider.complete(CompletionRequest(messages=[{"role": "user", "content": "hi"}]))
    finally:
        await provider.aclose()
        await runner.cleanup()


@pytest.mark.parametrize("body, message", [
    ({"choices": [{"message": "oops"}]}, "malformed response body"),
    ({"choices": [{"message": {"content": None}, "finish_reason": "length"}]}, "no content (finish_reason: length)"),
])
def test_answers_of_the_wrong_shape_are_retryable_errors(body: dict, message: str) -> None:
    from assay.errors import RetryableError

    with pytest.raises(RetryableError, match=re.escape(message)):
        asyncio.run(_answer_once(body))


def test_a_refusal_is_the_models_answer() -> None:
    body = {"choices": [{"message": {"content": None, "refusal": "I can't help with that."}}]}
    assert asyncio.run(_answer_once(body)).text == "I can't help with that."


def test_python_api_refuses_a_running_event_loop(project: Project) -> None:
    spec = assay.load_spec(project.spec(candidates=["strong"]))

    async def inside() -> None:
        assay.run(spec, db=project.db)

    with pytest.raises(assay.AssayError, match="inside a running event loop"):
        asyncio.run(inside())
    assert not project.db.exists()  # nothing half-made
