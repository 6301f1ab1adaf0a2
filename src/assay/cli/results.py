"""`assay results RUN_ID`: scores per rubric and model with 95% CIs, and which model is better, by how much."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from assay.cli.common import console, open_store, print_json
from assay.store import Store


def _num(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "—"
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


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
    else:
        print_results(data)


def print_results(data: dict[str, Any]) -> None:
    out = console()
    run = data["run"]
    ds = run["dataset"]
    judges = ", ".join(run["judges"])
    repeats = f", each output judged {run['judge_samples']}×" if run["judge_samples"] > 1 else ""
    out.print(f"[bold]run {run['id']}[/] ({run['status']}): {run['name']}, dataset {ds['name']}, "
              f"judge{'s' if len(run['judges']) > 1 else ''} {judges}{repeats}")
    for r in data["rubrics"]:
        _rubric_table(out, r)
    if data["comparisons"]:
        out.print("\n[bold]Which model is better[/]")
        for c in data["comparisons"]:
            out.print(f"• {c['sentence']}" + _power_note(c))
            if c.get("wins") is not None:
                out.print(f"  [dim]{_per_sample(c)}[/]")
        # Each test names its exact variant (exact or sampled); the family is what a reader needs here.
        tests = sorted({c["test"].split(",")[0] for c in data["comparisons"] if c.get("test")})
        if tests:
            adj = next((c["adjustment"] for c in data["comparisons"] if c.get("adjustment")), "")
            out.print(f"[dim]paired over shared samples; p-values: {', '.join(tests)}; adjustment: {adj}[/]")
    if len(data["rubrics"]) > 1:
        _tradeoff_table(out, data["tradeoffs"])
    for p in data["pairwise"]:
        _pairwise_section(out, p)
    if len(run["judges"]) > 1 or run["judge_samples"] > 1:
        out.print(f"[dim]{data['methods']['aggregate']}[/]")
    _failures(out, data["failures"])
    counts = data["counts"]
    line = f"outputs: {_counts(counts['outputs'])}; judgments: {_counts(counts['judgments'])}"
    if "pairwise" in counts:
        line += f"; pairwise verdicts: {_counts(counts['pairwise'])}"
    out.print(f"[dim]{line}[/]")


def _per_sample(c: dict[str, Any]) -> str:
    """Win/tie/loss from the point of view of the model the sentence names first."""
    a, b, wins, losses, effect = c["model_a"], c["model_b"], c["wins"], c["losses"], c.get("effect_size")
    if c.get("significant") and c["mean_diff"] < 0:
        a, b, wins, losses, effect = b, a, losses, wins, None if effect is None else -effect
    text = f"per sample, {a} scored higher on {wins}, the same on {c['ties']}, lower on {losses}"
    return text + ("" if effect is None else f"; effect size {effect:.2f} (Cohen's d_z)")


def _failures(out: Any, failures: dict[str, list[dict[str, Any]]]) -> None:
    """The commonest error messages, so a failed call is explained where it is counted."""
    lines = [f"{f['candidate']}: {f['n']}× {f['error']}" for f in failures["outputs"]]
    lines += [f"{f['rubric']}, {f['candidate']}, judge {f['judge']}: {f['n']}× {f['error']}"
              for f in failures["judgments"]]
    lines += [f"{f['rubric']}, judge {f['judge']}: {f['n']}× {f['error']}" for f in failures["pairwise"]]
    if lines:
        out.print("[bold red]Failures[/] (the commonest messages)")
        for line in lines:
            out.print(f"  [red]•[/] {escape(line)}")


def _rubric_table(out: Any, r: dict[str, Any]) -> None:
    lo, hi = r["scale"]
    table = Table(title=f"{r['rubric']} ({r['kind']}, scale {lo}–{hi})", title_justify="left")
    # Short headers so the table fits 80 columns: # is the rank, n the outputs scored, the last column the
    # distribution over the scale's levels.
    for col in ("#", "model", "n", "failed", "mean", "95% CI", "median", "sd", f"{lo}…{hi}"):
        table.add_column(col, justify="left" if col in ("model", f"{lo}…{hi}") else "right",
                         no_wrap=col in ("model", "95% CI"))
    rank = {x["model"]: x for x in r["ranking"]}
    for m in sorted(r["models"], key=lambda m: (rank[m["model"]]["rank"], -m["mean"]) if m["model"] in rank
                    else (1e9, 0.0)):
        place = rank.get(m["model"])
        shown = "—" if place is None else f"{place['rank']}" + ("=" if place["tied_with"] else "")
        failed = str(m["n_failed"]) + (" ⚠" if m["flagged"] else "")
        table.add_row(shown, m["model"], str(m["n_scored"]), failed, _num(m["mean"]),
                      f"{_num(m['ci_low'])} – {_num(m['ci_high'])}", _num(m["median"], 1), _num(m["sd"]),
                      _histogram(m["histogram"]))
    out.print(table)
    method = next((m["ci_method"] for m in r["models"] if m["n_scored"] > 1), None)
    notes = [f"CI: {method}"] if method else []
    if any(x["tied_with"] for x in r["ranking"]):
        notes.append("'=': tied, the data can't tell these models apart")
    if notes:
        out.print(f"[dim]{'; '.join(notes)}[/]")
    for m in r["models"]:
        if m["n_scored"] == 0 and m["n_failed"]:
            out.print(f"[red]✗ {m['model']}: nothing scored; every judgment failed (see Failures below)[/]")
        elif m["flagged"]:
            cause = (f" ({m['n_failed_no_output']} because the candidate produced no output)"
                     if m["n_failed_no_output"] else "")
            out.print(f"[yellow]⚠ {m['model']}: {m['failed_share']:.0%} of judgments failed{cause}; "
                      f"its mean may be biased[/]")
    for judge, rep in r["reliability"]["repeats"].items():
        out.print(f"[dim]judge {judge}: repeated verdicts disagree on {rep['share_disagreeing']:.0%} of "
                  f"{rep['n_outputs']} outputs (mean spread sd {rep['mean_sd']:.2f})[/]")
    for j in r["reliability"]["jury"]:
        alpha = "—" if j["krippendorff_alpha"] is None else f"{j['krippendorff_alpha']:.2f}"
        out.print(f"[dim]judges {j['judge_a']} and {j['judge_b']}: Krippendorff's alpha {alpha}, exact agreement "
                  f"{j['exact_agreement']:.0%} (n = {j['n']})[/]")


def _power_note(c: dict[str, Any]) -> str:
    if c.get("significant") or c.get("mde") is None:
        return ""
    note = f" [dim]This sample can detect differences of about {c['mde']:.2f} or more"
    if c.get("n_needed"):
        note += f"; detecting the observed one would take about {c['n_needed']} samples"
    return note + ".[/]"


def _tradeoff_table(out: Any, tradeoffs: dict[str, Any]) -> None:
    table = Table(title="Trade-offs (mean, 95% CI; ★ best or tied for best)", title_justify="left")
    table.add_column("model")
    for rubric in tradeoffs["rubrics"]:
        table.add_column(rubric, justify="right")
    for model, cells in tradeoffs["models"].items():
        row = [model]
        for rubric in tradeoffs["rubrics"]:
            c = cells.get(rubric)
            row.append("—" if c is None or c["mean"] is None else
                       f"{'★ ' if c['best'] else ''}{c['mean']:.2f} ({_num(c['ci_low'])}–{_num(c['ci_high'])})")
        table.add_row(*row)
    out.print(table)


def _pairwise_section(out: Any, p: dict[str, Any]) -> None:
    out.print(f"\n[bold]{p['rubric']} (pairwise, each pair judged in both orders)[/]")
    for pair in p["pairs"]:
        out.print(f"• {pair['sentence']}")
        length = pair.get("length")
        if length and length.get("length_controlled_win_rate") is not None:
            longer = length.get("longer_preferred_rate")
            out.print(f"  [dim]{pair['model_a']}'s length-controlled win rate "
                      f"{length['length_controlled_win_rate']:.0%}"
                      + (f"; the judge preferred the longer output {longer:.0%} of the time" if longer is not None
                         else "") + "[/]")
    for judge, c in p["position_consistency"].items():
        style = "yellow" if c["inconsistent_share"] > 0.2 else "dim"
        out.print(f"[{style}]judge {judge}: verdict changed with the order of the outputs in "
                  f"{c['inconsistent_share']:.0%} of {c['n_pairs']} pairs (both orders are averaged); the "
                  f"first-shown response won {c['first_position_wins']:.0%} of {c['n_verdicts']} verdicts, the "
                  f"second {c['second_position_wins']:.0%}[/]")
    for judge, r in p["repeat_disagreement"].items():
        out.print(f"[dim]judge {judge}: repeated verdicts disagree on {r['share_disagreeing']:.0%} of "
                  f"{r['n_pairs']} pairs (averaged)[/]")
    if p["bradley_terry"]:
        ranking = ", ".join(f"{s['model']} {'+' if round(s['score'], 2) >= 0 else ''}{_num(s['score'])} "
                            f"[{_num(s['ci_low'])}, {_num(s['ci_high'])}]" for s in p["bradley_terry"])
        out.print(f"  Bradley–Terry strengths (log scale, 95% CI): {ranking}")
    if p["n_failed"]:
        cause = (f" ({p['n_failed_no_output']} because a candidate produced no output)"
                 if p.get("n_failed_no_output") else "")
        out.print(f"[yellow]{p['n_failed']} pairwise verdict(s) failed{cause}[/]")


@click.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print every statistic as JSON.")
@click.pass_context
def results(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """Show a run's results: means with 95% CIs, distributions, and paired comparisons."""
    show_results(open_store(ctx), run_id, as_json=as_json)
