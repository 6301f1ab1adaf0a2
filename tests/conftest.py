"""Shared fixtures: a real local OpenAI-compatible server, a project folder wired to it, and a CLI runner.

ASSAY_OFFLINE=1 is set for the whole session: the openai provider then refuses any non-loopback host, so no
test can reach a real hosted API by accident.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from assay.testing import FakeServer

os.environ["ASSAY_OFFLINE"] = "1"
os.environ.pop("ASSAY_DB", None)


@pytest.fixture(scope="session")
def _server() -> Any:
    server = FakeServer.start(judge_noise=0)
    yield server
    server.stop()


@pytest.fixture()
def server(_server: FakeServer) -> FakeServer:
    """The shared fake server, reset to a clean state (no faults, zero counters, no latency) for each test."""
    _server.reset()
    _server.configure(judge_noise=0)
    return _server


def chat_rows(n: int, *, reference: bool = True) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        messages = [{"role": "user", "content": f"Question number {i}: what is {i} plus {i}?"}]
        if reference:
            messages.append({"role": "assistant", "content": f"{i} plus {i} is {2 * i}."})
        rows.append({"id": f"q{i}", "messages": messages})
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


class Project:
    """A folder with assay.yaml (models on the fake server), a dataset, rubrics and a spec."""

    def __init__(self, root: Path, server: FakeServer) -> None:
        self.root = root
        self.server = server
        self.db = root / "assay.db"
        self.models: dict[str, dict[str, Any]] = {}
        self.runner = CliRunner()

    def model(self, label: str, model: str | None = None, **settings: Any) -> dict[str, Any]:
        entry = {"provider": "openai", "base_url": self.server.url, "model": model or label,
                 "retry_backoff_s": 0.01, "timeout_s": 5, **settings}
        self.models[label] = entry
        return entry

    def write_config(self) -> Path:
        path = self.root / "assay.yaml"
        path.write_text(yaml.safe_dump({"models": self.models}), encoding="utf-8")
        return path

    def rubric(self, name: str = "quality", kind: str = "direct", **fields: Any) -> Path:
        data = {"name": name, "kind": kind, "description": f"How good is the response ({name})?",
                "scale": {"min": 1, "max": 10}, **fields}
        path = self.root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    def spec(self, *, candidates: list[Any], judge: Any = "judge", judges: list[Any] | None = None,
             rubrics: list[Any] | None = None,
             dataset: Any = "data.jsonl", settings: dict[str, Any] | None = None, name: str = "spec") -> Path:
        self.write_config()
        data: dict[str, Any] = {"name": name, "dataset": dataset, "candidates": candidates,
                                "rubrics": rubrics or ["quality.yaml"]}
        if judges is not None:
            data["judges"] = judges
        elif judge is not None:
            data["judge"] = judge
        if settings:
            data["settings"] = settings
        path = self.root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    def cli(self, *args: str, ok: bool = True) -> Result:
        result = self.runner.invoke(__import__("assay.cli.main", fromlist=["cli"]).cli,
                                    ["--db", str(self.db), *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def run_json(self, spec: Path, *extra: str, exit_code: int = 0) -> dict[str, Any]:
        """Run a spec through the CLI and return its results JSON. `exit_code=1` for runs expected to score
        nothing for some model (the CLI then still prints the results, and exits 1)."""
        result = self.cli("run", str(spec), "--json", *extra, ok=False)
        assert result.exit_code == exit_code, result.output
        return json.loads(result.stdout)


@pytest.fixture()
def project(tmp_path: Path, server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.chdir(tmp_path)
    p = Project(tmp_path, server)
    p.model("strong", "strong-q8")
    p.model("weak", "weak-q4")
    p.model("judge", "judge-model")
    write_jsonl(tmp_path / "data.jsonl", chat_rows(12))
    p.rubric()
    return p


@pytest.fixture(autouse=True)
def _slow_models_are_marked(request: pytest.FixtureRequest) -> Any:
    """A test that loads a llama.cpp model (the bundled one takes seconds to load and run) must be marked
    `@pytest.mark.local_model`, so that `pytest -m "not local_model"` leaves out every slow test. Unmarked tests
    start with no model loaded, so a load can't hide behind one an earlier test left in memory."""
    if request.node.get_closest_marker("local_model"):
        yield
        return
    from assay.providers import local

    kept = dict(local._models)
    local._models.clear()
    try:
        yield
        loaded = [path for path, _, _ in local._models]
    finally:
        local._models.clear()
        local._models.update(kept)
    if loaded:
        pytest.fail(f"this test loads {', '.join(loaded)}: mark it @pytest.mark.local_model", pytrace=False)
