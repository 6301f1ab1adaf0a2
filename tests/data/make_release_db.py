"""How tests/data/release-0.1.0.db was made: a database written by assay 0.1.0 (schema migrations 1-4).

Kept to show what the fixture holds; it is not rerun by the tests. Run it with the 0.1.0 sources on the path:

    PYTHONPATH=<assay 0.1.0>/src python tests/data/make_release_db.py tests/data/release-0.1.0.db

It fills every table: two datasets (one from a file named by the spec, one imported), a direct and a pairwise
rubric, three model entries, and one run with outputs, judgments and pairwise verdicts, including a failed
generation (so judgments and verdicts that never happened), an unusable verdict, and failed calls.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

import yaml
from click.testing import CliRunner

from assay.cli.main import cli
from assay.testing import FakeServer


def main(target: Path) -> None:
    os.environ["ASSAY_OFFLINE"] = "1"
    target = target.resolve()
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp, FakeServer.start(judge_noise=0) as server:
        root = Path(tmp)
        os.chdir(root)
        models = {label: {"provider": "openai", "base_url": server.url, "model": model, "retry_backoff_s": 0.01,
                          "timeout_s": 5, "concurrency": 1}
                  for label, model in (("strong", "strong-q8"), ("weak", "weak-q4"), ("judge", "judge-model"))}
        (root / "assay.yaml").write_text(yaml.safe_dump({"models": models}), encoding="utf-8")
        rows = [{"id": f"q{i}", "messages": [{"role": "user", "content": f"What is {i} plus {i}?"},
                                             {"role": "assistant", "content": f"{2 * i}."}]} for i in range(4)]
        (root / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        (root / "other.jsonl").write_text(json.dumps({"id": "x", "input": "Say hi."}) + "\n", encoding="utf-8")
        (root / "quality.yaml").write_text(yaml.safe_dump(
            {"name": "quality", "kind": "direct", "description": "How good is the response?",
             "scale": {"min": 1, "max": 10}}), encoding="utf-8")
        (root / "duel.yaml").write_text(yaml.safe_dump(
            {"name": "duel", "kind": "pairwise", "description": "Which response answers better?"}),
            encoding="utf-8")
        (root / "spec.yaml").write_text(yaml.safe_dump(
            {"name": "release-fixture", "dataset": "data.jsonl", "candidates": ["strong", "weak"],
             "judge": "judge", "rubrics": ["quality.yaml", "duel.yaml"]}), encoding="utf-8")
        # The weak model's first generation fails (HTTP 400, not retried): its judgments and verdicts never
        # happen. The judge's first answer is unusable three times in a row: one failed judgment.
        server.set_faults([{"fault": "400", "times": 1, "model": "weak-q4", "call": "generate"},
                           {"fault": "malformed", "times": 3, "model": "judge-model", "call": "judge"}])
        runner = CliRunner()
        db = str(root / "assay.db")
        for args in (["dataset", "import", "other.jsonl", "--name", "other"], ["run", "spec.yaml", "--json"]):
            result = runner.invoke(cli, ["--db", db, *args], catch_exceptions=False)
            assert result.exit_code == 0, result.output
        # One file, no -wal beside it: the fixture is a single file in the repository.
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("VACUUM INTO ?", (str(target),))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
