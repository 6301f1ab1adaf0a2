"""Throughput benchmark: `assay run` over N samples × M candidates, each output judged once, against the local
OpenAI-compatible test server with latency L and a cap of C calls in flight.

Prints the whole `assay run` process's wall time against the ideal (total calls × L ÷ C), its CPU milliseconds
per model call (user + system, everything included: planning, judging, parsing, storing, progress, results),
and its peak RSS. The server runs in its own process, so its CPU is not counted.

    python benchmarks/run_throughput.py --samples 2000 --candidates 1 --latency-ms 100 --concurrency 64
    python benchmarks/run_throughput.py --samples 100000 --latency-ms 0 --concurrency 64
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from assay.testing import FakeServer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", "-n", type=int, default=2000)
    ap.add_argument("--candidates", "-m", type=int, default=1)
    ap.add_argument("--latency-ms", "-l", type=float, default=100)
    ap.add_argument("--concurrency", "-c", type=int, default=64)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp, FakeServer.start(latency_ms=args.latency_ms) as server:
        root = Path(tmp)
        with open(root / "data.jsonl", "w") as f:
            for i in range(args.samples):
                f.write(json.dumps({"id": f"s{i}", "input": f"Question {i}: summarise item {i} in a sentence.",
                                    "reference": f"Item {i} in one sentence."}) + "\n")
        models = {f"cand-{k}": {"provider": "openai", "base_url": server.url, "model": f"cand-{k}-q{5 + k % 4}",
                                "concurrency": args.concurrency} for k in range(args.candidates)}
        models["judge"] = {"provider": "openai", "base_url": server.url, "model": "judge",
                           "concurrency": args.concurrency}
        (root / "assay.yaml").write_text(yaml.safe_dump({"models": models}))
        (root / "spec.yaml").write_text(yaml.safe_dump({
            "name": "throughput", "dataset": "data.jsonl", "candidates": list(models)[:-1], "judge": "judge",
            "rubrics": [{"name": "quality", "description": "How good is the answer?"}],
            "settings": {"max_concurrency": args.concurrency}}))
        # Import the dataset first: the benchmark times the run, not the one-off import.
        env = {**os.environ, "ASSAY_DB": str(root / "assay.db")}
        subprocess.run([sys.executable, "-m", "assay", "dataset", "import", "data.jsonl", "--name", "data"],
                       cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "assay", "run", "spec.yaml"], cwd=root, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if status != 0:
            sys.exit(f"assay run failed: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        stats = server.stats()

    calls = stats["calls"]
    ideal = calls * args.latency_ms / 1000 / args.concurrency
    cpu_ms = (usage.ru_utime + usage.ru_stime) * 1000
    figures = {
        "samples": args.samples, "candidates": args.candidates, "latency_ms": args.latency_ms,
        "concurrency": args.concurrency, "model_calls": calls, "wall_s": round(wall, 3),
        "ideal_s": round(ideal, 3), "wall_vs_ideal": round(wall / ideal, 3) if ideal else None,
        "cpu_ms_per_call": round(cpu_ms / calls, 3), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "server_max_in_flight": stats["max_in_flight"], "duplicates": stats["duplicates"],
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k:>22}: {v}")


if __name__ == "__main__":
    main()
