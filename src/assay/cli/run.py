"""`assay run SPEC`, `assay run --resume RUN_ID`, and `assay runs`."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.live import Live
from rich.table import Table

from assay.cli.common import console, open_store, print_json
from assay.cli.errors import EXIT_INTERRUPTED, EvalSaysNo
from assay.cli.progress import ProgressView
from assay.cli.results import show_results
from assay.config import load_spec
from assay.evaluate import execute_run, prepare_run


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (a service manager, `kill`, a CI timeout) stops the run the way Ctrl-C does: the run is marked
    interrupted, and the resume hint printed."""
    def on_sigterm(_signum: int, frame: Any) -> None:
        # Whatever handles Ctrl-C right now: asyncio's (cancel the run, then KeyboardInterrupt) or Python's.
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread (an embedding app): signals are its business
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--resume", "resume_id", metavar="RUN_ID", help="Finish an interrupted run instead of starting one.")
@click.option("--no-cache", is_flag=True, help="Call the models even for requests answered before.")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path),
              help="Project config with model entries (default: assay.yaml beside the spec or here).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON at the end (no live view).")
@click.option("--quiet", is_flag=True, help="No live progress view.")
@click.option("--no-endpoint-check", is_flag=True,
              help="Don't ask each model's endpoint whether it answers before the run (setting: check_endpoints).")
@click.pass_context
def run(ctx: click.Context, spec: Path | None, resume_id: str | None, no_cache: bool, config: Path | None,
        as_json: bool, quiet: bool, no_endpoint_check: bool) -> None:
    """Run an eval spec: every sample through every candidate, every output judged on every rubric."""
    if (spec is None) == (resume_id is None):
        raise click.UsageError("give a SPEC file to run, or --resume RUN_ID (not both)")
    store = open_store(ctx)
    if spec is not None:
        run_id = prepare_run(store, load_spec(spec, config=config), check=not no_endpoint_check,
                             warn=lambda message: click.secho(f"warning: {message}", fg="yellow", err=True))
    else:
        run_id = store.get_run(resume_id).id  # type: ignore[arg-type]
    check = resume_id is not None and not no_endpoint_check  # a new run was checked by prepare_run
    out = console()
    err = console() if not as_json else None
    view = ProgressView()
    live_wanted = not (as_json or quiet)
    if err is not None:
        err.print(f"run [bold]{run_id}[/]" + (" (resumed)" if resume_id else ""))
    try:
        with _sigterm_as_ctrl_c():
            if live_wanted:
                with Live(view, console=out, refresh_per_second=4, transient=False):
                    outcome = asyncio.run(execute_run(store, run_id, use_cache=not no_cache, check=check,
                                                      on_start=view.attach))
            else:
                outcome = asyncio.run(execute_run(store, run_id, use_cache=not no_cache, check=check,
                                                  on_start=view.attach))
    except KeyboardInterrupt:
        click.secho(f"\ninterrupted; finish it with: assay run --resume {run_id}", fg="yellow", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    show_results(store, outcome.run_id, as_json=as_json)
    if outcome.status != "done":  # the engine stopped, but some planned item never reached the store
        raise EvalSaysNo(f"run {run_id} is incomplete: some items were not stored; finish it with: "
                         f"assay run --resume {run_id}")
    empty = outcome.unscored
    if empty:  # a run that measured nothing for a model must not look like a success to a script
        raise EvalSaysNo(f"nothing was scored for {', '.join(empty)}: every call failed (see the failures "
                         f"above, or `assay results {outcome.run_id} --json`)")


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs(ctx: click.Context, as_json: bool) -> None:
    """List runs with their dataset, models, judge, status and counts (judged: scores and pairwise verdicts)."""
    store = open_store(ctx)
    rows: list[dict[str, Any]] = []
    for info in store.list_runs():
        counts = store.run_counts(info.id)
        spec = info.spec
        rows.append({"id": info.id, "name": info.name, "created_at": info.created_at, "status": info.status,
                     "dataset": f"{spec['dataset']['name']}@{spec['dataset']['version']}",
                     "candidates": [c["label"] for c in spec["candidates"]],
                     "judges": [j["label"] for j in spec["judges"]],
                     "rubrics": [x["name"] for x in spec["rubrics"]],
                     "outputs": counts["outputs"], "judgments": counts["judgments"],
                     "pairwise": counts.get("pairwise", {})})
    if as_json:
        print_json(rows)
        return
    if not rows:
        console().print("no runs yet: assay run SPEC")
        return
    table = Table("run", "status", "dataset", "candidates → judges", "judged", "failed")
    table.columns[0].no_wrap = True  # the id is what `assay results RUN_ID` needs: never cut it
    for r in rows:
        j, p = r["judgments"], r["pairwise"]  # judged: scores and pairwise verdicts alike
        table.add_row(r["id"], r["status"], r["dataset"].split("@")[0],
                      f"{', '.join(r['candidates'])} → {', '.join(r['judges'])}",
                      str(j.get("done", 0) + p.get("done", 0)),
                      str(j.get("failed", 0) + p.get("failed", 0) + r["outputs"].get("failed", 0)))
    console().print(table)
