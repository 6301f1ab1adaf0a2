"""Speed of single components, outside any run: parsing a dataset file and describing scores.

Each figure is the best of a few repeats in this process (the machine may be shared). Targets: parsing
100,000 chat rows well under 10 s; describing 2,000 scores (10,000 BCa resamples) well under 1 s.

    python benchmarks/components.py [--rows 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from assay.dataset.parse import parse_file
from assay.stats import describe


def best_of(repeats: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.jsonl"
        with open(path, "w") as f:
            for i in range(args.rows):
                f.write(json.dumps({"messages": [
                    {"role": "system", "content": "Be brief."}, {"role": "user", "content": f"question {i}"},
                    {"role": "assistant", "content": f"answer {i}"}], "metadata": {"i": i}}) + "\n")
        parse_s = best_of(args.repeats, lambda: parse_file(path))
    rng = np.random.default_rng(0)
    cont, disc = rng.normal(size=2000), rng.integers(1, 11, 2000)
    describe_s = best_of(args.repeats, lambda: (describe(cont), describe(disc)))
    print(f"parse {args.rows} chat rows: {parse_s:.2f} s ({parse_s / args.rows * 1e6:.1f} µs per row)")
    print(f"describe 2 x 2000 scores (BCa, 10000 resamples): {describe_s:.3f} s")


if __name__ == "__main__":
    main()
