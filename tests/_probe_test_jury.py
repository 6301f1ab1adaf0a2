import json, yaml
from conftest import Project, write_jsonl

def test_probe(project: Project) -> None:
    project.model("judge2", "judge-two")
    spec = project.spec(candidates=["strong"], settings={"judge_samples": 2})
    data = yaml.safe_load(spec.read_text()); data.pop("judge"); data["judges"] = ["judge", "judge2"]
    spec.write_text(yaml.safe_dump(data))
    run_id = project.run_json(spec)["run"]["id"]
    path = write_jsonl(project.root / "h.jsonl", [{"id": f"q{i}", "score": 8 if i else 3} for i in range(4)])
    out = project.cli("calibrate", run_id, "--human", str(path), "--json").stdout
    print(out[:3000])
    print(project.cli("calibrate", run_id, "--human", str(path)).output)
