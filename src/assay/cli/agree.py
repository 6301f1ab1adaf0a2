"""`assay agree` (agreement between two label columns of a file) and `assay calibrate` (judge vs human labels)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.markup import escape as esc
from rich.table import Column, Table
from rich.text import Text

from assay.cli.common import console, open_store, print_json

MAX_CONFUSION = 12  # larger confusion matrices are left to --json


def _num(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _score(x: float | int | None) -> str:
    if x is None:
        return "—"
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


# Which statistics apply to which kind, in display order: (key, label).
_STATS = {
    "continuous": [("pearson", "Pearson r"), ("spearman", "Spearman ρ"), ("kendall_tau_b", "Kendall τ-b"),
                   ("exact_agreement", "exact agreement"), ("krippendorff_alpha", "Krippendorff α")],
    "ordinal": [("pearson", "Pearson r"), ("spearman", "Spearman ρ"), ("kendall_tau_b", "Kendall τ-b"),
                ("exact_agreement", "exact agreement"), ("cohen_kappa", "Cohen κ"),
                ("weighted_kappa_quadratic", "quadratic-weighted κ"), ("krippendorff_alpha", "Krippendorff α")],
    "nominal": [("exact_agreement", "exact agreement"), ("cohen_kappa", "Cohen κ"),
                ("krippendorff_alpha", "Krippendorff α")],
}


def _confusion(ag: dict[str, Any], row_name: str, col_name: str) -> Table | None:
    labels = ag.get("labels") or []
    if not labels or len(labels) > MAX_CONFUSION:
        return None
    table = Table()
    table.add_column(f"{row_name} \\ {col_name}", justify="left")
    for lab in labels:
        table.add_column(Text(str(lab)), justify="right")
    for lab, counts in zip(labels, ag["confusion"]):
        table.add_row(Text(str(lab)), *(str(c) if c else "·" for c in counts))
    return table


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--a", "field_a", required=True, metavar="FIELD",
              help="First rater's field (a CSV column, or a JSONL key or dotted path such as scores.judge).")
@click.option("--b", "field_b", required=True, metavar="FIELD", help="Second rater's field.")
@click.option("--kind", type=click.Choice(["continuous", "ordinal", "nominal"]), default=None,
              help="Kind of labels. Default: ordinal if every value is an integer, continuous if every value "
                   "is a number, nominal otherwise.")
@click.option("--json", "as_json", is_flag=True, help="Print every statistic as JSON.")
def agree(file: Path, field_a: str, field_b: str, kind: str | None, as_json: bool) -> None:
    """Agreement between two sets of labels (fields --a and --b) in one JSONL or CSV FILE.

    Rows missing either label (absent, null or empty) are counted and left out.
    """
    from assay.report.calibration import agree_file  # statistics (scipy) load only when needed

    data = agree_file(file, field_a, field_b, kind=kind)
    if as_json:
        print_json(data)
        return
    out = console()
    ag = data["agreement"]
    out.print(f"[bold]{esc(data['file'])}[/]: A = {esc(data['a'])}, B = {esc(data['b'])}")
    out.print(f"kind: [bold]{data['kind']}[/] ({esc(data['kind_reason'])})")
    out.print(f"rows {data['n_rows']}: {data['n_used']} used, {data['n_excluded']} left out "
              f"(A missing in {data['n_missing_a']}, B missing in {data['n_missing_b']}, "
              f"both in {data['n_missing_both']})")
    table = Table("statistic", Column("value", justify="right"), Column("n", justify="right"))
    for key, label in _STATS[data["kind"]]:
        name = f"{label} ({ag['krippendorff_metric']})" if key == "krippendorff_alpha" else label
        table.add_row(name, _num(ag[key]), str(ag["n"]))
    if data["kind"] != "nominal":
        table.add_row("mean A − mean B", _num(ag["mean_diff"]), str(ag["n"]))
        table.add_row("mean |A − B|", _num(ag["mean_abs_diff"]), str(ag["n"]))
    out.print(table)
    conf = _confusion(ag, "A", "B")
    if conf is not None:
        out.print("confusion matrix: rows A, columns B")
        out.print(conf)
    elif ag.get("labels"):
        out.print(f"[dim]{len(ag['labels'])} categories: the confusion matrix is in --json[/]")
    if ag["n"] < 2:
        out.print("[yellow]fewer than 2 complete pairs: most statistics are undefined[/]")


_CALIBRATION_ROWS = [("n", "n"), ("n_no_judge_score", "no judge score"), *_STATS["ordinal"],
                     ("mean_diff", "judge − human (mean)")]


def _cell(key: str, ag: dict[str, Any]) -> str:
    if key in ("n", "n_no_judge_score"):
        return str(ag[key])
    return _num(ag[key], 2 if key == "mean_diff" else 3)


@click.command()
@click.argument("run_id")
@click.option("--human", "human", required=True, type=click.Path(path_type=Path),
              help="Human labels: a JSONL or CSV file with one row per labelled item.")
@click.option("--id-field", default="id", show_default=True, help="Field holding the sample id.")
@click.option("--score-field", default="score", show_default=True, help="Field holding the human score.")
@click.option("--rubric-field", default="rubric", show_default=True,
              help="Field naming the rubric (required when the run has several rubrics).")
@click.option("--candidate-field", default="candidate", show_default=True,
              help="Field naming the candidate (required when the run has several candidates).")
@click.option("--model-a-field", default="model_a", show_default=True,
              help="Pairwise rubrics: field naming the first candidate of the labelled pair.")
@click.option("--model-b-field", default="model_b", show_default=True,
              help="Pairwise rubrics: field naming the second candidate of the labelled pair.")
@click.option("--winner-field", default="winner", show_default=True,
              help="Pairwise rubrics: field holding the human preference (the better candidate, model_a, "
                   "model_b or tie).")
@click.option("--top", default=5, show_default=True, type=click.IntRange(min=0),
              help="How many of the largest judge-human disagreements to list per rubric.")
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
@click.pass_context
def calibrate(ctx: click.Context, run_id: str, human: Path, id_field: str, score_field: str, rubric_field: str,
              candidate_field: str, model_a_field: str, model_b_field: str, winner_field: str, top: int,
              as_json: bool) -> None:
    """Compare a run's judge with human labels (scores, or preferences for pairwise rubrics): agreement per
    rubric, and the largest disagreements."""
    from assay.report.calibration import calibrate_run  # statistics (scipy) load only when needed

    data = calibrate_run(open_store(ctx), run_id, human, id_field=id_field, score_field=score_field,
                         rubric_field=rubric_field, candidate_field=candidate_field, model_a_field=model_a_field,
                         model_b_field=model_b_field, winner_field=winner_field, top=top)
    if as_json:
        print_json(data)
        return
    out = console()
    run, labels = data["run"], data["labels"]
    judges = ", ".join(run["judges"])
    out.print(f"\n[bold]run {run['id']}[/]: judge{'s' if len(run['judges']) > 1 else ''} {esc(judges)} (A) against "
              f"human labels in {esc(labels['file'])} (B)")
    missing = f"no score: {labels['n_missing_score']}"
    if run["pairwise_rubrics"]:
        missing += f", no winner: {labels['n_missing_winner']}"
    out.print(f"label rows {labels['n_rows']}: {labels['n_matched']} matched, {labels['n_unmatched']} unmatched, "
              f"{labels['n_excluded']} left out (no id: {labels['n_missing_id']}, {missing})")
    for u in labels["unmatched"]:
        out.print(f"[yellow]  unmatched[/] line {u['line']}: sample {esc(repr(u['sample_id']))}, candidate "
                  f"{esc(repr(u['candidate']))}, rubric {esc(repr(u['rubric']))}: {u['reason']}")
    if labels["n_unmatched"] > len(labels["unmatched"]):
        out.print(f"[yellow]  … and {labels['n_unmatched'] - len(labels['unmatched'])} more (see --json)[/]")
    for r in data["rubrics"]:
        lo, hi = r["scale"]
        if r["n_labels"] == 0:
            out.print(f"[dim]{esc(r['rubric'])}: no human labels[/]")
            continue
        out.print(f"\n[bold]{esc(r['rubric'])}[/] (scale {lo}–{hi}, ordinal): {r['n_used']} of {r['n_labels']} "
                  f"labelled item(s) have a judge score")
        table = Table()
        columns: list[tuple[str, dict[str, Any]]] = [(c["candidate"], c) for c in r["by_candidate"]]
        if len(columns) != 1:
            columns.append(("all candidates", {**r["overall"], "n_no_judge_score": r["n_no_judge_score"]}))
        columns += [(f"judge {j['judge']}", j) for j in r["by_judge"]]
        table.add_column("statistic", justify="left")
        for name, _ in columns:
            table.add_column(Text(name), justify="right")
        for key, label in _CALIBRATION_ROWS:
            name = f"{label} (ordinal)" if key == "krippendorff_alpha" else label
            table.add_row(name, *(_cell(key, ag) for _, ag in columns))
        out.print(table)
        if r["n_failed_judgments"]:
            out.print(f"[yellow]{r['n_failed_judgments']} failed judgment(s) of labelled items left out[/]")
        if r["disagreements"]:
            out.print(f"[bold]{esc(r['rubric'])}[/]: largest disagreements")
            dis = Table()
            for col in ("sample", "candidate", "judge", "human", "judge − human", "judge's reasoning"):
                dis.add_column(col, justify="right" if col in ("judge", "human", "judge − human") else "left",
                               overflow="fold")
            for d in r["disagreements"]:
                why = d["reasoning"] or ""
                diff = f"{d['diff']:+.2f}" if not float(d["diff"]).is_integer() else f"{int(d['diff']):+d}"
                dis.add_row(Text(d["sample_id"]), Text(d["candidate"]), _score(d["judge_score"]),
                            _score(d["human_score"]), diff,
                            Text(why if len(why) <= 160 else why[:157] + "..."))
            out.print(dis)
        elif r["n_used"] and top:
            out.print("[green]judge and humans agree exactly on every labelled item[/]")
    for p in data["pairwise"]:
        _pairwise_calibration(out, p)


_PREFERENCE_ROWS = [("n", "n"), ("accuracy", "accuracy (with ties)"), ("n_without_ties", "n without ties"),
                    ("accuracy_without_ties", "accuracy (without ties)"), ("cohen_kappa", "Cohen κ (3 outcomes)")]


def _pairwise_calibration(out: Any, p: dict[str, Any]) -> None:
    """One pairwise rubric: the judge's preferences against the humans' (A better, tie, B better)."""
    if p["n_labels"] == 0:
        out.print(f"[dim]{esc(p['rubric'])}: no human preferences[/]")
        return
    out.print(f"\n[bold]{esc(p['rubric'])}[/] (pairwise: A better, tie, B better): {p['n_used']} of "
              f"{p['n_labels']} labelled pair(s) have a judge verdict in both orders")
    columns = [("judge" if len(p["by_judge"]) == 0 else "all judges", p["overall"])]
    columns += [(f"judge {j['judge']}", j) for j in p["by_judge"]]
    table = Table()
    table.add_column("statistic", justify="left")
    for name, _ in columns:
        table.add_column(Text(name), justify="right")
    for key, label in _PREFERENCE_ROWS:
        table.add_row(label, *(str(ag[key]) if key.startswith("n") else _num(ag[key]) for _, ag in columns))
    out.print(table)
    conf = _confusion(p["overall"], "judge", "human")
    if conf is not None:
        out.print(conf)
    if p["n_failed_verdicts"]:
        out.print(f"[yellow]{p['n_failed_verdicts']} failed verdict(s) on labelled pairs left out[/]")
    if p["disagreements"]:
        out.print(f"[bold]{esc(p['rubric'])}[/]: largest disagreements")
        dis = Table()
        for col in ("sample", "pair", "judge", "human"):
            dis.add_column(col, overflow="fold")
        for d in p["disagreements"]:
            dis.add_row(Text(d["sample_id"]), Text(f"{d['model_a']} vs {d['model_b']}"),
                        f"{d['judge_preference']} ({d['judge_outcome']:.2f})",
                        f"{d['human_preference']} ({d['human_outcome']:.2f})")
        out.print(dis)
