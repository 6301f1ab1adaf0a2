"""`assay compare RUN` (the models of one run) and `assay compare BEFORE AFTER` (one model across two runs)."""

from __future__ import annotations

import click

from assay.cli.common import console, open_store, print_json
from assay.cli.errors import EXIT_NO
from assay.cli.results import show_results


@click.command()
@click.argument("run_a")
@click.argument("run_b", required=False)
@click.option("--model", help="Candidate to follow across the runs: LABEL, or BEFORE:AFTER when renamed.")
@click.option("--force", is_flag=True, help="Compare even when rubric or judge versions differ.")
@click.option("--fail-if-worse", type=float, metavar="DELTA",
              help="Exit 1 when the second run is significantly worse than the first by more than DELTA.")
@click.option("--json", "as_json", is_flag=True, help="Print every statistic as JSON.")
@click.pass_context
def compare(ctx: click.Context, run_a: str, run_b: str | None, model: str | None, force: bool,
            fail_if_worse: float | None, as_json: bool) -> None:
    """Which model is better, by how much, and how sure we are.

    With one run, compares its models. With two, compares each model of RUN_A (before) with the same model in
    RUN_B (after) on the samples both scored; use --fail-if-worse in CI pipelines.
    """
    store = open_store(ctx)
    if run_b is None:
        if model or force or fail_if_worse is not None:
            raise click.UsageError("--model, --force and --fail-if-worse compare two runs: give RUN_A RUN_B")
        show_results(store, run_a, as_json=as_json)
        return
    from assay.report.compare import compare_runs

    data = compare_runs(store, run_a, run_b, model=model, force=force, fail_if_worse=fail_if_worse)
    if as_json:
        print_json(data)
    else:
        out = console()
        out.print(f"[bold]{data['after']['id']}[/] (after) against [bold]{data['before']['id']}[/] (before)")
        for m in data["models"]:
            if m["changed"]:
                what = (f"{m['before_model']} → {m['after_model']}" if m["before_model"] != m["after_model"]
                        else "same model name, other settings")
                out.print(f"[dim]{m['after']}: the model entry changed between the runs ({what})[/]")
        for w in data["warnings"]:
            out.print(f"[yellow]⚠ {w}[/]")
        for c in data["comparisons"]:
            out.print(f"• {c['sentence']}")
        out.print(f"[dim]{data['method']}; adjustment: {data['adjustment']}[/]")
        for w in data["worse"]:
            out.print(f"[red]✗ {w['model']} on {w['rubric']}: {w['reason']}[/]")
    if data["worse"]:
        ctx.exit(EXIT_NO)
