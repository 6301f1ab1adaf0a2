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
