"""`assay rubric templates|new|lint|test|generate` through the CLI, against real local HTTP servers.

`rubric test` uses the shared fake server (its judge scores the last `quality=<n>` in the prompt). `rubric
generate` needs a model that answers with rubric proposals, so this module starts its own small
OpenAI-compatible server that replies with a scripted sequence of contents and records every request.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shlex
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from aiohttp import web

from assay.rubric import Rubric, load_rubric
from assay.rubric.library import load_template, template_names
from conftest import Project, chat_rows, write_jsonl


class ScriptedServer:
    """OpenAI-compatible chat completions on 127.0.0.1 answering with scripted contents, in order (the last
    one repeats). Runs its own event loop on a thread."""

    def __init__(self) -> None:
        self.contents: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="scripted-server", daemon=True)
        self.thread.start()
        self.runner: web.AppRunner | None = None
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=10)

    def script(self, *contents: str) -> None:
        self.contents = list(contents)
        self.requests = []

    async def _answer(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        content = self.contents.pop(0) if len(self.contents) > 1 else self.contents[0]
        return web.json_response({
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": 0,
            "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})

    async def _start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._answer)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/v1"

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def _scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.stop()


@pytest.fixture()
def scripted(_scripted: ScriptedServer) -> ScriptedServer:
    _scripted.script("{}")
    return _scripted


def _fails(project: Project, *args: str) -> str:
    result = project.cli(*args, ok=False)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    return result.output


def _import(project: Project, name: str = "qa", rows: list[dict[str, Any]] | None = None) -> None:
    if rows is not None:
        write_jsonl(project.root / f"{name}.jsonl", rows)
    else:
        (project.root / f"{name}.jsonl").write_text((project.root / "data.jsonl").read_text())
    project.cli("dataset", "import", f"{name}.jsonl", "--name", name)


# -- templates, new, lint -------------------------------------------------------------------------------------


def test_templates_lists_the_library(project: Project) -> None:
    out = project.cli("rubric", "templates").output
    assert all(name in out for name in ("accuracy", "format-compliance", "refusal-appropriateness"))
    entries = json.loads(project.cli("rubric", "templates", "--json").stdout)
    assert [e["name"] for e in entries] == template_names() and len(entries) >= 12
    assert {"name": "tone", "kind": "direct", "scale": {"min": 1, "max": 5}}.items() <= \
        next(e for e in entries if e["name"] == "tone").items()


def test_new_prints_an_editable_copy_that_loads_back(project: Project) -> None:
    text = project.cli("rubric", "new", "--template", "groundedness", "--name", "faithful").stdout
    assert text.startswith("# Copied from the assay rubric template 'groundedness'")
    (project.root / "faithful.yaml").write_text(text)
    assert load_rubric(project.root / "faithful.yaml") == load_template("groundedness", name="faithful")

    project.cli("rubric", "new", "--template", "tone", "-o", "rubrics/tone.yaml")
    assert load_rubric(project.root / "rubrics" / "tone.yaml") == load_template("tone")
    assert "not overwriting" in _fails(project, "rubric", "new", "--template", "tone", "-o", "rubrics/tone.yaml")
    project.cli("rubric", "new", "--template", "accuracy", "-o", "rubrics/tone.yaml", "--force")
    assert load_rubric(project.root / "rubrics" / "tone.yaml").name == "accuracy"

    out = _fails(project, "rubric", "new", "--template", "toen")
    assert "no rubric template named 'toen'" in out and "did you mean 'tone'" in out


def test_lint_reports_findings_and_sets_the_exit_code(project: Project) -> None:
    assert "no problems found" in project.cli("rubric", "lint", "accuracy").output
    project.cli("rubric", "new", "--template", "accuracy", "-o", "acc.yaml")
    assert "no problems found" in project.cli("rubric", "lint", "acc.yaml").output

    # The project's default rubric: vague and no level meanings, but only warnings, so exit code 0.
    out = project.cli("rubric", "lint", "quality.yaml").output
    assert "[vague-description]" in out and "[no-levels]" in out and "0 error(s), 2 warning(s)" in out

    project.rubric("holes", scale={"min": 1, "max": 10}, levels={1: "bad", 5: "", 10: "great"})
    result = project.cli("rubric", "lint", "holes.yaml", ok=False)
    assert result.exit_code == 1 and "[empty-level]" in result.output and "2-9" in result.output
    data = json.loads(project.cli("rubric", "lint", "holes.yaml", "--json", ok=False).stdout)
    assert data["errors"] == 1 and {f["code"] for f in data["findings"]} >= {"empty-level", "partial-levels"}

    (project.root / "broken.yaml").write_text("name: b\ndescripton: typo\n")
    result = project.cli("rubric", "lint", "broken.yaml", ok=False)
    assert result.exit_code == 1 and "[invalid]" in result.output and "did you mean 'description'" in result.output

    out = _fails(project, "rubric", "lint", "nothing-here")
    assert "neither a rubric file nor a template" in out


def test_lint_a_template_with_an_overridden_scale_names_the_undescribed_scores(project: Project) -> None:
    # As a spec's {template: helpfulness, scale: {min: 1, max: 10}} would use it: the five meanings move to the
    # nearest scores of 1-10 and lint lists the others.
    out = project.cli("rubric", "lint", "helpfulness", "--scale", "1:10").output
    assert "[partial-levels]" in out and "5 of the 10 levels of the scale 1-10" in out and "2, 4-5, 7, 9" in out
    data = json.loads(project.cli("rubric", "lint", "helpfulness", "--scale", " 1 : 10 ", "--json").stdout)
    assert data["scale"] == {"min": 1, "max": 10} and data["errors"] == 0
    assert [f["code"] for f in data["findings"]] == ["partial-levels"]
    assert "no problems found" in project.cli("rubric", "lint", "helpfulness", "--scale", "1:3").output
    assert "expected MIN:MAX" in _fails(project, "rubric", "lint", "helpfulness", "--scale", "10")
    assert "must be less than" in _fails(project, "rubric", "lint", "helpfulness", "--scale", "5:1")
    assert "--scale goes with a template name" in _fails(project, "rubric", "lint", "quality.yaml", "--scale", "1:5")
    assert "neither a rubric file nor a template" in _fails(project, "rubric", "lint", "nope", "--scale", "1:5")


def test_lint_checks_a_pairwise_rubric_without_scale_or_level_findings(project: Project) -> None:
    path = project.rubric("duel", kind="pairwise", description=(
        "Which response answers the arithmetic question correctly, showing the working step by step?"))
    assert "no problems found" in project.cli("rubric", "lint", str(path)).output
    project.rubric("vague-duel", kind="pairwise", description="Which is better?",
                   template="Compare {{ eval_model_response_a }} with {{ eval_model_response_b }}.")
    data = json.loads(project.cli("rubric", "lint", "vague-duel.yaml", "--json").stdout)
    assert {f["code"] for f in data["findings"]} == {"description-not-shown", "no-context", "vague-description"}


# -- test -----------------------------------------------------------------------------------------------------


def test_rubric_test_shows_the_judges_prompt_and_score(project: Project) -> None:
    project.model("judge7", "judge-q7")
    project.write_config()
    _import(project)
    out = project.cli("rubric", "test", "quality.yaml", "--dataset", "qa", "--row", "q3", "--judge", "judge7",
                      "--output", "Six, I think. quality=7").output
    assert "--- system message ---" in out and "impartial evaluator" in out
    assert "--- user message ---" in out and "[user] Question number 3: what is 3 plus 3?" in out
    assert "<<<BEGIN eval_model_response" in out and "Six, I think. quality=7" in out
    assert "score 7 (scale 1-10)" in out and "reasoning: Fake judge" in out
    assert project.server.stats()["calls"] == 1

    data = json.loads(project.cli("rubric", "test", "accuracy", "--dataset", "qa", "--row", "q3", "--judge",
                                  "judge7", "--output", "quality=4", "--json").stdout)
    assert data["rubric"] == "accuracy" and data["row"] == "q3" and data["output_from"] == "--output"
    assert [r["score"] for r in data["results"]] == [4] and data["summary"]["mean"] == 4
    assert data["messages"][1]["content"].count("Question number 3") == 1


def test_rubric_test_judges_the_reference_by_default_and_picks_random_rows(project: Project) -> None:
    project.model("judge7", "judge-q7", temperature=0)
    project.write_config()
    _import(project)
    first = json.loads(project.cli("rubric", "test", "quality.yaml", "--dataset", "qa", "--random", "--seed", "5",
                                   "--judge", "judge7", "--json").stdout)
    again = json.loads(project.cli("rubric", "test", "quality.yaml", "--dataset", "qa", "--random", "--seed", "5",
                                   "--judge", "judge7", "--json").stdout)
    assert first["row"] == again["row"] and first["seed"] == 5
    n = int(first["row"][1:])
    assert first["output"] == f"{n} plus {n} is {2 * n}." and first["output_from"] == "the row's reference"
    assert 1 <= first["results"][0]["score"] <= 10
    out = project.cli("rubric", "test", "quality.yaml", "--dataset", "qa", "--random", "--judge", "judge7").output
    assert "(random, --seed " in out


def test_rubric_test_repeat_summarizes_scores_and_shows_failures(project: Project) -> None:
    project.model("judge7", "judge-q7", temperature=0)
    project.write_config()
    _import(project)
    args = ("rubric", "test", "quality.yaml", "--dataset", "qa", "--row", "q1", "--judge", "judge7",
            "--output", "Two. quality=7", "--repeat", "3")
    out = project.cli(*args).output
    assert "#1 score 7" in out and "#3 score 7" in out
    assert "scores: 7, 7, 7 (3 of 3 parsed); mean 7.00, min 7, max 7, spread 0" in out
    assert "temperature 0" in out
    assert project.server.stats()["calls"] == 3

    # As in a run, a verdict that can't be parsed is asked again (judge_retries, 2 by default).
    project.server.set_faults([{"fault": "malformed", "times": 1}])
    data = json.loads(project.cli(*args, "--json").stdout)
    assert sorted(r["tries"] for r in data["results"]) == [1, 1, 2] and all(r["ok"] for r in data["results"])
    assert data["summary"] == {"n": 3, "scored": 3, "failed": 0, "mean": 7, "min": 7, "max": 7, "spread": 0}

    project.server.set_faults([{"fault": "malformed", "times": 3}])
    result = project.cli(*args[:-2], "--repeat", "1", "--json", ok=False)
    assert result.exit_code == 1
    (failed,) = json.loads(result.stdout)["results"]
    assert not failed["ok"] and failed["tries"] == 3 and failed["raw"] == "The score is probably high"
    assert "score" not in failed and failed["error"].startswith("unusable verdict: try 1:")

    project.server.set_faults([{"fault": "malformed", "times": None}])
    result = project.cli(*args, ok=False)
    assert result.exit_code == 1 and "unusable verdict" in result.output
    assert "raw answer: 'The score is probably high'" in result.output and "scores:" not in result.output


def test_rubric_test_repeats_ask_with_their_own_seeds(project: Project, scripted: ScriptedServer) -> None:
    # As in a run: repeat 0 is the judge's ordinary request, later repeats ask with distinct seeds, so a sampling
    # judge gives independent draws instead of K copies of the same request.
    _import(project)
    scripted.script(json.dumps({"reasoning": "fine", "score": 3}))
    project.model("sampler", "sampler-model", base_url=scripted.url, temperature=0.8, seed=40)
    project.write_config()
    args = ("rubric", "test", "quality.yaml", "--dataset", "qa", "--row", "q1", "--judge", "sampler",
            "--output", "Two.", "--repeat", "4")
    data = json.loads(project.cli(*args, "--json").stdout)
    assert [r["seed"] for r in data["results"]] == [None, 41, 42, 43]
    assert [r["seed"] for r in scripted.requests] == [40, 41, 42, 43]  # the entry's seed, then each repeat's
    assert len({json.dumps(r, sort_keys=True) for r in scripted.requests}) == 4
    assert data["notes"] == []  # a sampling judge that agrees with itself: nothing to explain

    # A judge whose entry sets no temperature, whose repeats all agree: the server's default may be 0.
    project.model("unset", "unset-model", base_url=scripted.url)
    project.write_config()
    out = project.cli(*args[:-6], "--judge", "unset", "--output", "Two.", "--repeat", "3").output
    assert "scores: 3, 3, 3" in out and "note: every repeat gave the same score" in out and "no temperature" in out
    assert "temperature 0" not in out
    # One answer: nothing to say about repeats.
    assert "note:" not in project.cli(*args[:-2], "--repeat", "1").output


def test_rubric_test_repeats_draw_anew_from_a_sampling_judge(project: Project) -> None:
    project.server.configure(judge_noise=3)  # the fake judge adds noise derived from the request and its seed
    project.model("judge7", "judge-q7", temperature=1)
    project.write_config()
    _import(project)
    data = json.loads(project.cli("rubric", "test", "quality.yaml", "--dataset", "qa", "--row", "q1", "--judge",
                                  "judge7", "--output", "quality=5", "--repeat", "8", "--json").stdout)
    assert project.server.stats()["duplicates"] == 0  # 8 distinct requests, not one sent 8 times
    assert data["summary"]["scored"] == 8 and data["summary"]["spread"] > 0


def _pairwise_rubric(project: Project) -> Path:
    return project.rubric("duel", kind="pairwise", description=(
        "Which response answers the arithmetic question correctly, showing the working step by step?"))


def test_rubric_test_judges_a_pairwise_rubric_in_both_orders(project: Project) -> None:
    project.model("judge7", "judge-q7", temperature=0)
    project.write_config()
    _import(project)
    _pairwise_rubric(project)
    args = ("rubric", "test", "duel.yaml", "--dataset", "qa", "--row", "q3", "--judge", "judge7",
            "--output", "Six. quality=8", "--output-b", "Seven. quality=3")
    out = project.cli(*args).output
    assert "--- output (--output) ---\nSix. quality=8" in out and "--- output (--output-b) ---\nSeven. quality=3" in out
    assert "order A/B: --output shown as response A" in out and "order B/A: --output-b shown as response A" in out
    assert out.count("--- system message ---") == 1 and "impartial evaluator" in out and "Question number 3" in out
    assert "A/B: winner response A (--output)" in out and "B/A: winner response B (--output)" in out
    assert "not flipped: the same verdict in both orders (--output)" in out
    assert project.server.stats()["calls"] == 2

    data = json.loads(project.cli(*args, "--json").stdout)
    assert data["kind"] == "pairwise" and data["output"] == "Six. quality=8" and data["output_b"] == "Seven. quality=3"
    ab, ba = data["messages"]["ab"][1]["content"], data["messages"]["ba"][1]["content"]
    assert ab.index("Six. quality=8") < ab.index("Seven. quality=3")
    assert ba.index("Seven. quality=3") < ba.index("Six. quality=8")
    (result,) = data["results"]
    assert (result["ab"]["winner"], result["ab"]["preferred"]) == ("A", "output")
    assert (result["ba"]["winner"], result["ba"]["preferred"]) == ("B", "output")
    assert result["flipped"] is False
    assert data["summary"] == {"n": 1, "calls": 2, "parsed": 2, "failed": 0,
                               "preferred": {"output": 2, "output_b": 0, "tie": 0}, "pairs": 1, "flipped": 0}

    # A judge that always prefers response A: its verdict follows the order, and the test says so.
    project.server.configure(pairwise_bias="first")
    out = project.cli(*args, "--repeat", "2").output
    assert "#1 A/B: winner response A (--output)" in out and "B/A: winner response A (--output-b)" in out
    assert "flipped: swapping the order changed the verdict (--output, then --output-b)" in out
    assert "flipped in 2 of 2 repeat(s)" in out and "position bias" in out
    assert "temperature 0" in out  # repeats of a temperature-0 judge are expected to agree
    data = json.loads(project.cli(*args, "--repeat", "2", "--json").stdout)
    assert [r["flipped"] for r in data["results"]] == [True, True] and data["summary"]["flipped"] == 2
    assert [r["seed"] for r in data["results"]] == [None, 1]


def test_rubric_test_asks_a_five_point_rubric_on_its_own_scale(project: Project) -> None:
    project.write_config()
    _import(project)
    project.rubric("duel", kind="pairwise", description=(
        "Which response answers the arithmetic question correctly, showing the working step by step?"),
        pairwise={"scale": "five-point"})
    data = json.loads(project.cli("rubric", "test", "duel.yaml", "--dataset", "qa", "--row", "q3", "--judge", "judge",
                                  "--output", "Six. quality=8", "--output-b", "Seven. quality=3", "--json").stdout)
    (result,) = data["results"]
    assert json.loads(result["ab"]["raw"])["verdict"] == "A>>B" and json.loads(result["ba"]["raw"])["verdict"] == "B>>A"
    assert (result["ab"]["preferred"], result["ba"]["preferred"], result["flipped"]) == ("output", "output", False)
    assert "A>>B when response A is much better" in data["messages"]["ab"][0]["content"]


def test_rubric_test_of_a_pairwise_rubric_needs_both_outputs(project: Project) -> None:
    project.write_config()
    _import(project)
    _pairwise_rubric(project)
    base = ("rubric", "test", "duel.yaml", "--dataset", "qa", "--row", "q1", "--judge", "judge")
    for extra in ((), ("--output", "x"), ("--output-b", "y")):
        out = _fails(project, *base, *extra)
        assert "pairwise rubric" in out and "--output TEXT and --output-b TEXT" in out
    out = _fails(project, "rubric", "test", "quality.yaml", "--dataset", "qa", "--row", "q1", "--judge", "judge",
                 "--output", "x", "--output-b", "y")
    assert "--output-b goes with a pairwise rubric" in out
    project.server.set_faults([{"fault": "malformed", "times": None}])
    result = project.cli(*base, "--output", "x", "--output-b", "y", ok=False)
    assert result.exit_code == 1 and "unusable verdict" in result.output and "flipped: unknown" in result.output
    assert project.server.stats()["calls"] == 2 * 3  # each order asked 1 + judge_retries times


def test_rubric_test_reads_the_judge_from_another_config(project: Project) -> None:
    project.model("judge7", "judge-q7")
    config = project.write_config().rename(project.root / "elsewhere.yaml")
    _import(project)
    args = ("rubric", "test", "helpfulness", "--dataset", "qa", "--row", "q2", "--judge", "judge7",
            "--output", "Four. quality=5")
    assert "no project config (assay.yaml)" in _fails(project, *args)
    assert "score 5 (scale 1-5)" in project.cli(*args, "--config", str(config)).output


def test_rubric_test_errors_are_clean(project: Project) -> None:
    project.write_config()
    _import(project)
    base = ("rubric", "test", "quality.yaml", "--dataset", "qa", "--judge", "judge")
    assert "--row ID or --random" in _fails(project, *base)
    assert "--row ID or --random" in _fails(project, *base, "--row", "q1", "--random")
    assert "no row with id 'nope'" in _fails(project, *base, "--row", "nope")
    assert "--seed goes with --random" in _fails(project, *base, "--row", "q1", "--seed", "3")
    assert "unknown model label 'nobody'" in _fails(project, "rubric", "test", "quality.yaml", "--dataset", "qa",
                                                    "--row", "q1", "--judge", "nobody")
    assert "no dataset named 'gone'" in _fails(project, "rubric", "test", "quality.yaml", "--dataset", "gone",
                                               "--row", "q1", "--judge", "judge")
    out = _fails(project, "rubric", "test", "reference-adherence", "--dataset", "qa", "--row", "q1", "--judge", "judge")
    assert "adherence rubric" in out and "--output" in out
    _import(project, "noref", chat_rows(3, reference=False))
    out = _fails(project, "rubric", "test", "quality.yaml", "--dataset", "noref", "--row", "q1", "--judge", "judge")
    assert "has no reference to judge" in out and "--output TEXT" in out
    assert project.server.stats()["calls"] == 0


# -- generate -------------------------------------------------------------------------------------------------


def _proposal(*names: str, kind: str = "direct", levels: dict[str, str] | None = None) -> str:
    return json.dumps({"rubrics": [{
        "name": name, "kind": kind,
        "description": f"Does the answer state the correct sum, show the arithmetic, and avoid errors ({name})?",
        "scale": {"min": 1, "max": 3},
        "levels": levels or {"1": "Wrong sum.", "2": "Right sum, no working shown.", "3": "Right sum, clear working."},
    } for name in names]})


def _generate(project: Project, scripted: ScriptedServer, *args: str, ok: bool = True):  # type: ignore[no-untyped-def]
    project.model("proposer", "proposer-model", base_url=scripted.url)
    project.write_config()
    return project.cli("rubric", "generate", "--dataset", "qa", "--judge", "proposer", *args, ok=ok)


def test_generate_writes_validated_rubrics_with_provenance(project: Project, scripted: ScriptedServer) -> None:
    _import(project)
    scripted.script(_proposal("arithmetic", "shows-working", kind="adherence"))
    out = _generate(project, scripted, "--sample-size", "5", "--seed", "3", "--goal", "Grade a math tutor.").output
    assert len(scripted.requests) == 1
    folder = project.root / "rubrics" / "generated"
    assert sorted(p.name for p in folder.iterdir()) == ["arithmetic.provenance.json", "arithmetic.yaml",
                                                         "shows-working.provenance.json", "shows-working.yaml"]
    assert f"wrote {Path('rubrics/generated/arithmetic.yaml')}" in out
    rubric = load_rubric(folder / "arithmetic.yaml")
    assert rubric.kind == "adherence" and rubric.levels[2] == "Right sum, no working shown."
    assert (folder / "arithmetic.yaml").read_text().startswith("# Proposed by `assay rubric generate`")

    provenance = json.loads((folder / "arithmetic.provenance.json").read_text())
    assert provenance["model"] == "proposer" and provenance["model_name"] == "proposer-model"
    assert len(provenance["model_identity"]) == 16 and provenance["seed"] == 3 and provenance["attempts"] == 1
    ids = provenance["sample_ids"]
    assert len(ids) == 5 == len(set(ids)) and provenance["dataset"]["name"] == "qa"
    assert provenance["created_at"].endswith("Z") and provenance["goal"] == "Grade a math tutor."

    request = scripted.requests[0]
    assert request["model"] == "proposer-model"
    schema = request["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["rubrics"]["maxItems"] == 5
    prompt = request["messages"][1]["content"]
    assert prompt == provenance["prompt"] and "Grade a math tutor." in prompt
    for row_id in ids:  # every sampled row is shown, with its reference
        n = int(row_id[1:])
        assert f"(row {row_id})" in prompt and f"{n} plus {n} is {2 * n}." in prompt

    # The same seed samples the same rows; --force is needed to overwrite.
    assert "not overwriting" in _generate(project, scripted, "--sample-size", "5", "--seed", "3", ok=False).output
    _generate(project, scripted, "--sample-size", "5", "--seed", "3", "--force")
    assert json.loads((folder / "arithmetic.provenance.json").read_text())["sample_ids"] == ids


def test_generate_retries_with_the_validation_error(project: Project, scripted: ScriptedServer) -> None:
    _import(project)
    bad = _proposal("arithmetic", "bad name!")
    scripted.script(bad, _proposal("arithmetic", "clarity-of-working"))
    out = _generate(project, scripted, "--out-dir", "drafts").output
    assert len(scripted.requests) == 2 and "2 attempts" in out
    retry = scripted.requests[1]["messages"]
    assert retry[-2] == {"role": "assistant", "content": bad}
    assert "can't be used" in retry[-1]["content"] and "rubrics[1] (bad name!)" in retry[-1]["content"]
    assert isinstance(load_rubric(project.root / "drafts" / "clarity-of-working.yaml"), Rubric)
    assert json.loads((project.root / "drafts" / "arithmetic.provenance.json").read_text())["attempts"] == 2


@pytest.mark.parametrize("answer, problem", [
    ("not json at all", "not valid JSON"),
    (_proposal("only-one"), "between 2 and 5 rubrics, not 1"),
    (_proposal("a", "b", levels={"one": "x"}), "levels keys must be integer scores"),
    (_proposal("a", "b", levels={"1": "x", "7": "y"}), "outside the scale"),
    (_proposal("same", "same"), "repeated: same"),
    (_proposal("a", "b", kind="pairwise"), "kind must be direct or adherence, not 'pairwise'"),
    (json.dumps({"rubrics": [{**json.loads(_proposal("a"))["rubrics"][0], "template": "{{ eval_model_response }}"},
                             json.loads(_proposal("b"))["rubrics"][0]]}), "unknown key(s) template"),
    (json.dumps({"rubrics": [{k: v for k, v in json.loads(_proposal("a"))["rubrics"][0].items() if k != "scale"},
                             json.loads(_proposal("b"))["rubrics"][0]]}), "missing scale"),
    (json.dumps({"rubrics": json.loads(_proposal("a", "b"))["rubrics"], "notes": "x"}), "unknown key(s) notes"),
])
def test_generate_fails_cleanly_when_every_proposal_is_invalid(project: Project, scripted: ScriptedServer,
                                                               answer: str, problem: str) -> None:
    _import(project)
    scripted.script(answer)
    result = _generate(project, scripted, "--retries", "2", ok=False)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "no usable rubric proposals in 3 attempt(s)" in result.output and problem in result.output
    assert len(scripted.requests) == 3
    assert not (project.root / "rubrics" / "generated").exists()


def test_generate_offers_only_direct_rubrics_for_rows_without_references(project: Project,
                                                                         scripted: ScriptedServer) -> None:
    rows = chat_rows(4, reference=False)
    for i, row in enumerate(rows):
        row["outputs"] = {"prod": f"Answer {i}: {2 * i}"}
    _import(project, "qa", rows)
    scripted.script(_proposal("a", "b", kind="adherence"), _proposal("a", "b"))
    _generate(project, scripted, "--retries", "1")
    first = scripted.requests[0]
    kinds = first["response_format"]["json_schema"]["schema"]["properties"]["rubrics"]["items"]["properties"]["kind"]
    assert kinds["enum"] == ["direct"]
    assert "Answer 2: 4" in first["messages"][1]["content"] and "response_from_prod" in first["messages"][1]["content"]
    assert "kind must be direct" in scripted.requests[1]["messages"][-1]["content"]
    assert yaml.safe_load((project.root / "rubrics" / "generated" / "a.yaml").read_text())["kind"] == "direct"


def test_generate_provenance_hash_is_the_hash_of_the_stored_prompt(project: Project, scripted: ScriptedServer) -> None:
    _import(project)
    scripted.script(_proposal("arithmetic", "clarity"))
    _generate(project, scripted, "--sample-size", "4")
    folder = project.root / "rubrics" / "generated"
    provenance = json.loads((folder / "arithmetic.provenance.json").read_text())
    digest = hashlib.sha256(provenance["prompt"].encode("utf-8")).hexdigest()
    assert provenance["prompt_sha256"] == digest
    assert provenance["prompt"] == scripted.requests[0]["messages"][1]["content"]
    assert f"prompt sha256 {digest[:16]}" in (folder / "arithmetic.yaml").read_text()


def test_generate_rejects_pairwise_and_unknown_keys_then_retries(project: Project, scripted: ScriptedServer) -> None:
    _import(project)
    bad = json.dumps({"rubrics": [
        {**json.loads(_proposal("duel"))["rubrics"][0], "kind": "pairwise"},
        {**json.loads(_proposal("own-template"))["rubrics"][0], "template": "Score {{ eval_model_response }}"}]})
    scripted.script(bad, _proposal("arithmetic", "clarity"))
    out = _generate(project, scripted, "--retries", "1").output
    assert len(scripted.requests) == 2 and "2 attempts" in out
    problems = scripted.requests[1]["messages"][-1]["content"]
    assert "rubrics[0] (duel): kind must be direct or adherence, not 'pairwise'" in problems
    assert "rubrics[1] (own-template): unknown key(s) template" in problems
    folder = project.root / "rubrics" / "generated"
    assert sorted(p.name for p in folder.glob("*.yaml")) == ["arithmetic.yaml", "clarity.yaml"]


def test_generate_says_when_the_answer_is_cut_off(project: Project, scripted: ScriptedServer) -> None:
    _import(project)
    full = _proposal("arithmetic", "clarity")
    scripted.script(full[:150])  # a model stopped by its max_tokens mid-string
    result = _generate(project, scripted, "--retries", "1", ok=False)
    out = result.output
    assert "Traceback" not in out and "Unterminated string" in out
    assert "the answer looks cut off" in out and "raise max_tokens" in out and "'proposer'" in out
    assert "it sets none" in out
    assert "shorter" in scripted.requests[1]["messages"][-1]["content"]
    # Cut off between values, and inside an opening code fence, with max_tokens set on the entry.
    for cut in (full[: full.index('"scale"')], "```json\n" + full[:300]):
        scripted.script(cut)
        project.model("proposer", "proposer-model", base_url=scripted.url, max_tokens=256)
        project.write_config()
        out = project.cli("rubric", "generate", "--dataset", "qa", "--judge", "proposer", "--retries", "0",
                          ok=False).output
        assert "looks cut off" in out and "it is 256" in out, out
    # Not JSON at all is not "cut off".
    scripted.script("no json here {")
    out = project.cli("rubric", "generate", "--dataset", "qa", "--judge", "proposer", "--retries", "0", ok=False).output
    assert "not valid JSON" in out and "cut off" not in out


def _next_hint(out: str) -> list[str]:
    (line,) = [line for line in out.splitlines() if line.startswith("next: ")]
    return shlex.split(line[len("next: "):])


def test_generate_next_hint_is_a_command_that_works(project: Project, scripted: ScriptedServer) -> None:
    _import(project)
    verdict = json.dumps({"reasoning": "ok", "score": 2})
    # Only adherence rubrics: the hint includes --output TEXT, which an adherence rubric needs.
    scripted.script(_proposal("arithmetic", "shows-working", kind="adherence"), verdict)
    hint = _next_hint(_generate(project, scripted).output)
    assert hint[:4] == ["assay", "rubric", "test", str(Path("rubrics/generated/arithmetic.yaml"))]
    assert hint[-2:] == ["--output", "TEXT"]
    assert "score 2" in project.cli(*hint[1:-1], "Four.").output
    # A direct rubric among them: the hint points at it, and it runs as printed (it judges the reference).
    mixed = json.loads(_proposal("matches-reference", kind="adherence"))["rubrics"] + \
        json.loads(_proposal("clear-working"))["rubrics"]
    scripted.script(json.dumps({"rubrics": mixed}), verdict)
    hint = _next_hint(_generate(project, scripted, "--out-dir", "second").output)
    assert hint[3] == str(Path("second/clear-working.yaml")) and "--output" not in hint and "--row" in hint
    assert "score 2" in project.cli(*hint[1:]).output
    # Rows without references: even a direct rubric needs the output to judge.
    _import(project, "noref", chat_rows(4, reference=False))
    scripted.script(_proposal("clear-working", "polite"), verdict)
    out = project.cli("rubric", "generate", "--dataset", "noref", "--judge", "proposer", "--out-dir", "third").output
    hint = _next_hint(out)
    assert hint[3] == str(Path("third/clear-working.yaml")) and hint[-2:] == ["--output", "TEXT"]
    assert "score 2" in project.cli(*hint[1:-1], "Four.").output


def test_generate_checks_what_it_can_before_calling_the_model(project: Project, scripted: ScriptedServer) -> None:
    _import(project)
    scripted.script(_proposal("arithmetic", "clarity"))
    (project.root / "taken").write_text("a file")
    out = _generate(project, scripted, "--out-dir", "taken", ok=False).output
    assert "'taken' is a file" in out and scripted.requests == []
    out = _generate(project, scripted, "--out-dir", "taken/sub", ok=False).output
    assert "can't create --out-dir" in out and scripted.requests == []

    _generate(project, scripted, "--seed", "4")
    assert len(scripted.requests) == 1
    # The same request again: the earlier files say which names the model will propose; no call is made.
    out = _generate(project, scripted, "--seed", "4", ok=False).output
    assert "not overwriting" in out and "no call was made" in out and "--force" in out
    assert str(Path("rubrics/generated/arithmetic.yaml")) in out
    assert len(scripted.requests) == 1
    # Another request (another goal) may propose other names: only the answer tells, so the check comes after.
    out = _generate(project, scripted, "--seed", "4", "--goal", "Grade a tutor.", ok=False).output
    assert "not overwriting" in out and "could only be checked after the call" in out and "arithmetic, clarity" in out
    assert len(scripted.requests) == 2
    _generate(project, scripted, "--seed", "4", "--force")
    assert len(scripted.requests) == 3
