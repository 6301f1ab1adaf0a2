"""Provider plug-ins: the example package's `echo` provider, found through the `assay.providers` entry point.

Nothing is installed: a dist-info folder with the example's entry point declaration is put on sys.path, where
importlib.metadata discovers it as it would an installed distribution's.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import Project, chat_rows, write_jsonl

from assay.providers import registry

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "provider_plugin"


@pytest.fixture()
def echo_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make the example plug-in discoverable as if pip-installed; returns its entry point target."""
    pyproject = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
    entry_points = pyproject["project"]["entry-points"]["assay.providers"]
    assert entry_points == {"echo": "assay_echo_provider:EchoProvider"}
    site = tmp_path / "site"
    dist_info = site / "assay_echo_provider-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: assay-echo-provider\nVersion: 0.1.0\n",
                                        encoding="utf-8")
    (dist_info / "entry_points.txt").write_text(
        "[assay.providers]\n" + "".join(f"{name} = {target}\n" for name, target in entry_points.items()),
        encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    # A fresh registry: `echo` can only come from entry-point discovery (and is forgotten after the test).
    monkeypatch.setattr(registry, "_registered", {})
    return entry_points["echo"]


def test_the_entry_point_is_discovered_and_loaded(echo_installed: str) -> None:
    assert "echo" in registry.available()
    factory = registry.get_factory("echo")
    from assay_echo_provider import EchoProvider

    assert factory is EchoProvider and echo_installed == "assay_echo_provider:EchoProvider"


def test_without_the_entry_point_echo_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    from assay.errors import SpecError

    monkeypatch.setattr(registry, "_registered", {})
    assert "echo" not in registry.available()
    with pytest.raises(SpecError, match="unknown provider 'echo'"):
        registry.get_factory("echo")


def test_a_run_with_the_plugin_provider(project: Project, echo_installed: str) -> None:
    project.models.clear()
    project.models["mirror"] = {"provider": "echo", "options": {"prefix": "echo: "}}
    project.models["plain"] = {"provider": "echo"}
    project.models["judge"] = {"provider": "echo"}
    write_jsonl(project.root / "data.jsonl", chat_rows(4))
    data = project.run_json(project.spec(candidates=["mirror", "plain"]))
    assert data["counts"] == {"outputs": {"done": 8}, "judgments": {"done": 8}}
    (rubric,) = data["rubrics"]
    for m in rubric["models"]:  # the echo judge gives the top of the scale, through the strict verdict parser
        assert (m["n_scored"], m["n_failed"], m["mean"]) == (4, 0, 10.0)
    with sqlite3.connect(project.db) as db:
        outputs = dict(db.execute("select candidate, text from outputs where sample_id = 'q1'").fetchall())
    question = "Question number 1: what is 1 plus 1?"
    assert outputs == {"mirror": "echo: " + question[::-1], "plain": question[::-1]}
    assert project.server.stats()["calls"] == 0


def test_a_bad_plugin_entry_is_reported_before_the_run(project: Project, echo_installed: str) -> None:
    project.models.clear()
    project.models["mirror"] = {"provider": "echo", "options": {"prefix": 3}}
    project.models["judge"] = {"provider": "echo"}
    result = project.cli("run", str(project.spec(candidates=["mirror"])), ok=False)
    assert result.exit_code == 2 and "options.prefix must be a string" in result.output


def test_models_test_smoke_tests_a_plugin_entry(project: Project, echo_installed: str) -> None:
    project.models["mirror"] = {"provider": "echo", "options": {"prefix": "echo: "}}
    project.write_config()
    result = json.loads(project.cli("models", "test", "mirror", "--json").stdout)
    assert result["plain"] == {**result["plain"], "ok": True, "answer": "echo: " + ".ko drow eht htiw ylpeR"}
    assert result["structured"]["ok"] and result["structured"]["score"] == 5
