"""`assay rubric ...`: the template library, rubrics generated from data, quick tests and lint.

    assay rubric templates [--json]
    assay rubric new --template NAME [--name NEW] [-o FILE]
    assay rubric lint RUBRIC [--scale MIN:MAX] [--json]
    assay rubric test RUBRIC --dataset NAME (--row ID | --random [--seed N]) --judge MODEL [--output TEXT]
                      [--output-b TEXT] [--repeat K]
    assay rubric generate --dataset NAME --judge MODEL [--goal TEXT] [--sample-size 20] [--seed 0] [--out-dir DIR]

RUBRIC is a rubric YAML file or the name of a shipped template. MODEL is a label of the project config. The
work is done in `assay.rubric` (authoring, trial, generate); this module parses the options and prints.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from assay.cli.common import console, open_store, print_json
from assay.cli.errors import EXIT_NO, BadInput, EvalSaysNo
from assay.errors import RubricError
from assay.rubric.authoring import is_template_ref, lint_target, open_dataset, pick_row, resolve_judge, resolve_rubric
from assay.rubric.library import template_summaries, template_yaml
from assay.rubric.trial import PairTrial, ScoreTrial, output_to_judge, try_pair, try_score


@click.group()
def rubric() -> None:
    """Write, generate, test and check rubrics."""


# -- templates, new, lint -------------------------------------------------------------------------------------


@rubric.command("templates")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def templates(as_json: bool) -> None:
    """List the rubric templates shipped with assay."""
    entries = template_summaries()
    if as_json:
        print_json(entries)
        return
    table = Table("name", "kind", "scale", "summary")
    for e in entries:
        table.add_row(e["name"], e["kind"], f"{e['scale']['min']}-{e['scale']['max']}", escape(e["summary"]))
    out = console()
    out.print(table)
    out.print("[dim]copy one with: assay rubric new --template NAME --name MY-NAME > my-rubric.yaml[/]")


@rubric.command("new")
@click.option("--template", "template", required=True, metavar="NAME", help="The template to copy (see `templates`).")
@click.option("--name", "new_name", metavar="NEW", help="The new rubric's name (default: the template's).")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
def new(template: str, new_name: str | None, output: Path | None, force: bool) -> None:
    """Print an editable YAML copy of a template (or write it with -o)."""
    text = template_yaml(template, new_name=new_name)
    if output is None:
        click.echo(text, nl=False)
        return
    if output.exists() and not force:
        raise BadInput(f"not overwriting {output} (use --force)")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}; check it with: assay rubric lint {output}")


_SCALE = re.compile(r"^\s*(-?\d+)\s*:\s*(-?\d+)\s*$")


def _parse_scale(ctx: click.Context, param: click.Parameter, value: str | None) -> dict[str, int] | None:
    if value is None:
        return None
    m = _SCALE.match(value)
    if not m:
        raise click.BadParameter(f"expected MIN:MAX, e.g. 1:10; got {value!r}", ctx=ctx, param=param)
    return {"min": int(m.group(1)), "max": int(m.group(2))}


@rubric.command("lint")
@click.argument("target", metavar="RUBRIC")
@click.option("--scale", metavar="MIN:MAX", callback=_parse_scale,
              help="Lint a template with this scale, as a spec overriding its scale would use it (the template's "
                   "level meanings move to the nearest scores; lint lists the scores left undescribed).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.pass_context
def lint_(ctx: click.Context, target: str, scale: dict[str, int] | None, as_json: bool) -> None:
    """Check a rubric file or template for problems; exit code 1 if any is an error."""
    if scale is not None and not is_template_ref(target):
        resolve_rubric(target)  # a clear error for a name that is neither a file nor a template
        raise click.UsageError(f"--scale goes with a template name (it lints the template as a spec's "
                               f"{{template: NAME, scale: ...}} would use it); {target} is a rubric file: edit its "
                               "scale and levels instead, then lint it")
    rub, findings = lint_target(target, scale)
    errors = sum(f.severity == "error" for f in findings)
    if as_json:
        print_json({"target": target, "rubric": rub.name if rub else None, "version": rub.version if rub else None,
                    "scale": {"min": rub.scale.min, "max": rub.scale.max} if rub else None,
                    "errors": errors, "warnings": len(findings) - errors,
                    "findings": [f.to_dict() for f in findings]})
    elif not findings:
        click.echo(f"{target}: no problems found")
    else:
        for f in findings:
            color = "red" if f.severity == "error" else "yellow"
            click.echo(f"{target}: {click.style(f.severity, fg=color)} [{f.code}] {f.message}")
        click.echo(f"{errors} error(s), {len(findings) - errors} warning(s)")
    if errors:
        ctx.exit(EXIT_NO)


# -- test -----------------------------------------------------------------------------------------------------

_OPTION = {"output": "--output", "output_b": "--output-b", "tie": "tie"}


def _num(x: float) -> str:
    return f"{x:g}"


@rubric.command("test")
@click.argument("rubric_ref", metavar="RUBRIC")
@click.option("--dataset", "dataset_ref", required=True, metavar="NAME",
              help="A stored dataset (NAME or NAME@VERSION) or a dataset file (imported into the store first).")
@click.option("--row", "row_id", metavar="ID", help="The row to judge, by id.")
@click.option("--random", "pick_random", is_flag=True, help="Judge a random row.")
@click.option("--seed", type=int, help="Seed for --random (default: a fresh one, printed).")
@click.option("--judge", "judge_label", required=True, metavar="MODEL", help="Judge model label (project config).")
@click.option("--output", "output_text", metavar="TEXT",
              help="The output to judge (default: the row's reference, for a direct rubric). For a pairwise "
                   "rubric, the first of the two outputs compared.")
@click.option("--output-b", "output_b", metavar="TEXT",
              help="Pairwise rubrics: the second output, compared with --output in both orders.")
@click.option("--repeat", type=click.IntRange(1, 100), default=1, show_default=True,
              help="Ask the judge K times (each with its own seed, as in a run) to see how stable its answer is.")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path),
              help="Project config with model entries (default: assay.yaml here).")
@click.option("--json", "as_json", is_flag=True, help="Print the prompt, verdicts and summary as JSON.")
@click.pass_context
def test(ctx: click.Context, rubric_ref: str, dataset_ref: str, row_id: str | None, pick_random: bool,
         seed: int | None, judge_label: str, output_text: str | None, output_b: str | None, repeat: int,
         config: Path | None, as_json: bool) -> None:
    """Show exactly what the judge sees for one row, and what it answers."""
    if (row_id is None) == (not pick_random):
        raise click.UsageError("choose the row with --row ID or --random (one of them)")
    if seed is not None and not pick_random:
        raise click.UsageError("--seed goes with --random")
    rub = resolve_rubric(rubric_ref)
    if rub.pairwise and (output_text is None or output_b is None):
        raise RubricError(f"rubric {rub.name!r} is a pairwise rubric: it compares two outputs, so give both with "
                          "--output TEXT and --output-b TEXT (the judge sees them in both orders)")
    if output_b is not None and not rub.pairwise:
        raise click.UsageError(f"--output-b goes with a pairwise rubric; {rub.name!r} is a {rub.kind} rubric, "
                               "which judges one output (--output)")
    spec = resolve_judge(judge_label, config)
    store = open_store(ctx)
    info = open_dataset(store, dataset_ref)
    sample, picked, seed = pick_row(store, info, row_id, seed)
    dataset = f"{info.name}@{info.version}"
    judge = {"label": spec.label, "model": spec.model, "temperature": spec.temperature}
    if rub.pairwise:
        assert output_text is not None and output_b is not None
        pair = try_pair(spec, rub, sample, output_text, output_b, repeat)
        if as_json:
            print_json({"rubric": rub.name, "rubric_version": rub.version, "kind": rub.kind, "scale": None,
                        "dataset": {"name": info.name, "version": info.version}, "row": sample.id, "seed": seed,
                        "output": output_text, "output_b": output_b, "output_from": "--output and --output-b",
                        "judge": judge, "messages": pair.messages, "results": pair.results,
                        "summary": pair.summary, "notes": pair.notes})
        else:
            head = click.style
            click.echo(head(f"rubric {rub.name} (pairwise, version {rub.version}) on {picked} of {dataset}; "
                            f"compared: --output and --output-b, in both orders; judge {spec.label} "
                            f"({spec.model or spec.provider})", bold=True))
            _print_pair(pair, output_text, output_b, repeat)
        if not pair.parsed:
            ctx.exit(EXIT_NO)
        return
    judged, origin = output_to_judge(rub, sample, output_text, picked, info.name)
    trial = try_score(spec, rub, sample, judged, repeat)
    if as_json:
        print_json({"rubric": rub.name, "rubric_version": rub.version, "kind": rub.kind,
                    "scale": {"min": rub.scale.min, "max": rub.scale.max},
                    "dataset": {"name": info.name, "version": info.version}, "row": sample.id,
                    "seed": seed if pick_random else None, "output": judged, "output_from": origin,
                    "judge": judge, "messages": trial.messages, "results": trial.results, "summary": trial.summary,
                    "notes": trial.notes})
    else:
        click.echo(click.style(f"rubric {rub.name} ({rub.kind}, scale {rub.scale.min}-{rub.scale.max}, version "
                               f"{rub.version}) on {picked} of {dataset}; judged: {origin}; "
                               f"judge {spec.label} ({spec.model or spec.provider})", bold=True))
        _print_scores(trial, rub.scale.min, rub.scale.max, repeat)
    if not trial.scores:
        ctx.exit(EXIT_NO)


def _print_scores(trial: ScoreTrial, lo: int, hi: int, repeat: int) -> None:
    head = click.style
    for m in trial.messages:
        click.echo(head(f"\n--- {m['role']} message ---", fg="cyan"))
        click.echo(m["content"])
    click.echo(head("\n--- judge's answer" + ("s" if repeat > 1 else "") + " ---", fg="cyan"))
    for r in trial.results:
        prefix = f"#{r['attempt']} " if repeat > 1 else ""
        if r["ok"]:
            click.echo(f"{prefix}score {head(_num(r['score']), bold=True)} (scale {lo}-{hi})")
            click.echo(f"{' ' * len(prefix)}reasoning: {r['reasoning']}")
        else:
            click.echo(f"{prefix}{head('failed', fg='red')}: {r['error']}")
            if r["raw"] is not None:
                click.echo(f"{' ' * len(prefix)}raw answer: {r['raw']!r}")
    scores, summary = trial.scores, trial.summary
    if repeat > 1 and scores:
        click.echo(f"\nscores: {', '.join(_num(s) for s in scores)} ({len(scores)} of {repeat} parsed); "
                   f"mean {summary['mean']:.2f}, min {_num(summary['min'])}, max {_num(summary['max'])}, "
                   f"spread {_num(summary['spread'])}")
    for note in trial.notes:
        click.echo(f"note: {note}")


def _print_pair(trial: PairTrial, output_a: str, output_b: str, repeat: int) -> None:
    head = click.style
    messages, results, summary = trial.messages, trial.results, trial.summary
    verdicts = summary["calls"]
    click.echo(head("\n--- output (--output) ---", fg="cyan"))
    click.echo(output_a)
    click.echo(head("\n--- output (--output-b) ---", fg="cyan"))
    click.echo(output_b)
    shown = {"ab": "A/B: --output shown as response A, --output-b as B",
             "ba": "B/A: --output-b shown as response A, --output as B"}
    for order in ("ab", "ba"):
        for m in messages[order]:
            if order == "ba" and m in messages["ab"]:
                continue  # the system message: the same in both orders
            click.echo(head(f"\n--- {m['role']} message" + ("" if m["role"] == "system" else f", order {shown[order]}")
                            + " ---", fg="cyan"))
            click.echo(m["content"])
    click.echo(head("\n--- judge's answers ---", fg="cyan"))
    for r in results:
        prefix = f"#{r['attempt']} " if repeat > 1 else ""
        pad = " " * len(prefix)
        for j, order in enumerate(("ab", "ba")):
            v = r[order]
            lead = (prefix if j == 0 else pad) + ("A/B" if order == "ab" else "B/A")
            if v["ok"]:
                won = "tie" if v["winner"] == "tie" else \
                    f"response {v['winner']} ({_OPTION[v['preferred']]})"
                click.echo(f"{lead}: winner {head(won, bold=True)}")
                click.echo(f"{pad}     reasoning: {v['reasoning']}")
            else:
                click.echo(f"{lead}: {head('failed', fg='red')}: {v['error']}")
                if v["raw"] is not None:
                    click.echo(f"{pad}     raw answer: {v['raw']!r}")
        if r["flipped"] is None:
            click.echo(f"{pad}flipped: unknown (a verdict failed)")
        elif r["flipped"]:
            click.echo(f"{pad}{head('flipped', fg='yellow', bold=True)}: swapping the order changed the verdict "
                       f"({_OPTION[r['ab']['preferred']]}, then {_OPTION[r['ba']['preferred']]})")
        else:
            click.echo(f"{pad}not flipped: the same verdict in both orders ({_OPTION[r['ab']['preferred']]})")
    if trial.parsed:
        counts = summary["preferred"]
        click.echo(f"\nverdicts: --output {counts['output']}, --output-b {counts['output_b']}, tie {counts['tie']} "
                   f"({trial.parsed} of {verdicts} parsed); flipped in {summary['flipped']} of "
                   f"{summary['pairs']} repeat(s) with both orders parsed")
        if summary["flipped"]:
            click.echo("note: a verdict that changes with the order follows the position, not the outputs: this "
                       "judge shows position bias on this row (a run judges both orders and counts a flip as a tie).")
    for note in trial.notes:
        click.echo(f"note: {note}")


# -- generate -------------------------------------------------------------------------------------------------


@rubric.command("generate")
@click.option("--dataset", "dataset_ref", required=True, metavar="NAME",
              help="A stored dataset (NAME or NAME@VERSION) or a dataset file.")
@click.option("--goal", metavar="TEXT", help="What the evaluation is for, in a sentence or two.")
@click.option("--judge", "judge_label", required=True, metavar="MODEL",
              help="The model that proposes the rubrics (a project config label).")
@click.option("--sample-size", type=click.IntRange(1, 200), default=20, show_default=True,
              help="How many rows to show the model.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the row sample.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("rubrics/generated"),
              show_default=True, help="Where to write the rubric files.")
@click.option("--retries", type=click.IntRange(0, 10), default=2, show_default=True,
              help="Extra tries when the proposals are invalid (the problems are sent back).")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path),
              help="Project config with model entries (default: assay.yaml here).")
@click.option("--force", is_flag=True, help="Overwrite rubric files that already exist.")
@click.pass_context
def generate(ctx: click.Context, dataset_ref: str, goal: str | None, judge_label: str, sample_size: int, seed: int,
             out_dir: Path, retries: int, config: Path | None, force: bool) -> None:
    """Ask a model to propose 2-5 rubrics suited to a dataset; write one YAML file per rubric."""
    from assay.rubric.generate import check_out_dir, next_command, prepare_generation, propose, write_rubrics

    spec = resolve_judge(judge_label, config)
    check_out_dir(out_dir)
    store = open_store(ctx)
    info = open_dataset(store, dataset_ref)
    request = prepare_generation(store, info, spec, goal=goal, sample_size=sample_size, seed=seed, out_dir=out_dir,
                                 force=force)
    click.echo(f"asking {spec.label} ({spec.model or spec.provider}) for rubrics from {len(request.samples)} rows "
               f"of {info.name}@{info.version} (seed {seed})...", err=True)
    try:
        generated = propose(request, retries=retries)
    except RubricError as e:  # the model answered, but no answer held usable rubrics
        raise EvalSaysNo(str(e)) from None
    written = write_rubrics(request, generated, out_dir, force=force)
    for w in written:
        click.echo(f"wrote {w.yaml_path} ({w.rubric.kind}, scale {w.rubric.scale.min}-{w.rubric.scale.max}) and "
                   f"{w.provenance_path.name}")
        for f in w.findings:
            click.echo(f"  {f.severity} [{f.code}] {f.message}")
    if generated.attempts > 1:
        click.echo(f"({generated.attempts} attempts: the earlier proposals were invalid)")
    click.echo(f"next: {next_command(request, written)}")
