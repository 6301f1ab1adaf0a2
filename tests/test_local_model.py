"""End to end with the real bundled model (SmolLM2-135M through llama.cpp), no network, no key."""

from __future__ import annotations

import json
import sqlite3

import pytest
import yaml

from conftest import Project

pytest.importorskip("llama_cpp", reason="the 'local' extra is part of the test install; see README")


@pytest.mark.local_model
def test_quickstart_runs_offline_with_the_bundled_model(project: Project) -> None:
    project.cli("init", "qs")
    spec = project.root / "qs" / "eval.yaml"
    data = yaml.safe_load(spec.read_text())
    data["settings"]["limit"] = 3
    spec.write_text(yaml.safe_dump(data))

    table = project.cli("run", str(spec)).output
    assert "Which model is better" in table and "helpfulness" in table

    run_id = json.loads(project.cli("runs", "--json").stdout)[0]["id"]
    results = json.loads(project.cli("results", run_id, "--json").stdout)
    assert results["run"]["status"] == "done"
    assert results["counts"]["outputs"] == {"done": 6}
    judged = results["counts"]["judgments"]
    assert judged.get("done", 0) + judged.get("failed", 0) == 12 and judged.get("done", 0) >= 6
    with sqlite3.connect(project.db) as db:
        rows = db.execute("select score, raw from judgments where status = 'done'").fetchall()
        outputs = db.execute("select text from outputs").fetchall()
    assert all(1 <= score <= 5 for score, _ in rows)
    assert all(json.loads(raw)["score"] == score for score, raw in rows)  # grammar-constrained JSON
    assert all(text.strip() for (text,) in outputs)
    assert project.server.stats()["calls"] == 0  # nothing went over HTTP


@pytest.mark.parametrize("options, message", [
    ({"n_ctx": "lots"}, "options.n_ctx must be a positive whole number"),
    ({"n_threads": 0}, "options.n_threads must be a positive whole number"),
    ({"contxt": 10}, "unknown local option(s) contxt"),
    ({"path": "broken.gguf"}, "llama.cpp can't load"),
    ({"path": "missing.gguf"}, "not found"),
])
def test_bad_local_model_settings_fail_cleanly_before_the_run(project: Project, options: dict, message: str) -> None:
    (project.root / "broken.gguf").write_text("not a model")
    project.models["judge"] = {"provider": "local", "options": options}
    result = project.cli("run", str(project.spec(candidates=["strong"])), ok=False)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert project.server.stats()["calls"] == 0


def test_a_relative_gguf_path_is_relative_to_the_config(project: Project, tmp_path, monkeypatch) -> None:
    from assay.config import load_spec

    (project.root / "broken.gguf").write_text("not a model")
    project.models["judge"] = {"provider": "local", "options": {"path": "broken.gguf"}}
    spec = project.spec(candidates=["strong"])
    monkeypatch.chdir(tmp_path.parent)  # run from elsewhere: the path still means the file beside assay.yaml
    assert load_spec(spec).judge.options["path"] == str((project.root / "broken.gguf").resolve())
