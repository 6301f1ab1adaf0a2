"""`assay results RUN_ID`: scores per rubric and model with 95% CIs, and which model is better, by how much."""

from __future__ import annotations

import click
from rich.table import Table

from assay.cli.common import console, open_store, print_json
from assay.store import Store


def _num(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _histogram(h: dict[str, int]) -> str:
    """One character per score level, its height the level's count relative to the most common level."""
    top = max(h.values(), default=0) or 1
    bars = "▁▂▃▄▅▆▇█"
    return "".join(bars[max(0, round(7 * v / top))] if v else "·" for v in h.values())


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"


def show_results(store: Store, run_id: str, *, as_json: bool = False) -> None:
    from assay.report.results import run_results  # statistics (scipy) load only when results are shown

    data = run_results(store, run_id)
    if as_json:
        print_json(data)
        return
    out = console()
    run = data["run"]
    ds = run["dataset"]
    out.print(f"\n[bold]run {run['id']}[/] ({run['status']}): {run['name']}, dataset {ds['name']}@{ds['version']}, "
              f"judge {run['judge']} ({run['judge_model']})")
    for r in data["rubrics"]:
        table = Table(title=f"{r['rubric']} ({r['kind']}, scale {r['scale'][0]}–{r['scale'][1]})", title_justify="left")
        lo, hi = r["scale"]
        for col in ("model", "scored", "failed", "mean", "95% CI", "median", "sd", f"scores {lo}…{hi}"):
            table.add_column(col, justify="left" if col == "model" or col.startswith("scores") else "right")
        for m in r["models"]:
            failed = str(m["n_failed"]) + (" ⚠" if m["flagged"] else "")
            table.add_row(m["model"], str(m["n_scored"]), failed, _num(m["mean"]),
                          f"{_num(m['ci_low'])} – {_num(m['ci_high'])}", _num(m["median"], 1), _num(m["sd"]),
                          _histogram(m["histogram"]))
        out.print(table)
        method = next((m["ci_method"] for m in r["models"] if m["n_scored"] > 1), None)
        if method:
            out.print(f"[dim]CI: {method}[/]")
        if any(m["flagged"] for m in r["models"]):
            out.print("[yellow]⚠ more than 5% of this model's judgments failed: its mean may be biased[/]")
    if data["comparisons"]:
        out.print("\n[bold]Which model is better[/]")
        for c in data["comparisons"]:
            out.print(f"• {c['sentence']}")
        tests = {c.get("test") for c in data["comparisons"] if c.get("test")}
        if tests:
            adj = next((c["adjustment"] for c in data["comparisons"] if c.get("adjustment")), "")
            out.print(f"[dim]paired over shared samples; p-values: {', '.join(sorted(tests))}; {adj}[/]")
    counts = data["counts"]
    out.print(f"[dim]outputs: {_counts(counts['outputs'])}; judgments: {_counts(counts['judgments'])}[/]")


@click.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print every statistic as JSON.")
@click.pass_context
def results(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """Show a run's results: means with 95% CIs, distributions, and paired comparisons."""
    show_results(open_store(ctx), run_id, as_json=as_json)
