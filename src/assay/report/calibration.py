"""Judge reliability as plain data: agreement between two label columns of a file, and between a run's judge
and human labels.

`agree_file` reads a JSONL or CSV file and compares two of its fields; `calibrate_run` attaches human labels to
a run's judgments by sample id and compares them per rubric: scores for pointwise rubrics, preferences (A
better, tie, B better) for pairwise ones. Both read files or the store, call
`assay.stats.agreement`, and return JSON-ready dicts that the CLI prints as they are. Missing labels (absent,
null, empty, or a non-finite number such as NaN or Infinity: see `assay.report.labels`) are counted and left out,
never guessed; malformed input is a `DatasetError` naming the file and line.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.errors import DatasetError
from assay.report.labels import MISSING, LabelFile, LabelRow, describe_value, number_of, read_label_file
from assay.report.verdicts import PairUnit, combine, output_verdict, pair_outcome, pair_units
from assay.stats import agreement
from assay.store.store import Store

KINDS = ("continuous", "ordinal", "nominal")
MAX_LISTED = 10  # unmatched label rows listed in a calibration report


# ------------------------------------------------------------------------------------------------ shared


def _mean(xs: list[float]) -> float | None:
    return float(sum(xs) / len(xs)) if xs else None


def agreement_block(a: list[Any], b: list[Any], kind: str, labels: list[Any] | None = None) -> dict[str, Any]:
    """`agreement(a, b)` as a dict, plus the means of both raters and their mean difference (a − b) for numbers.

    ``a`` and ``b`` hold only complete pairs (no missing side).
    """
    out = agreement(a, b, kind=kind, labels=labels).to_dict()  # type: ignore[arg-type]
    if kind == "nominal":
        out.update(mean_a=None, mean_b=None, mean_diff=None, mean_abs_diff=None)
    else:
        diffs = [float(x) - float(y) for x, y in zip(a, b)]
        out.update(mean_a=_mean([float(x) for x in a]), mean_b=_mean([float(y) for y in b]),
                   mean_diff=_mean(diffs), mean_abs_diff=_mean([abs(d) for d in diffs]))
    return out


def _nominal_order(values: list[Any]) -> list[Any]:
    """Category order for nominal labels: numbers ascending, then text in alphabetical order."""
    distinct = list(dict.fromkeys(values))
    numbers = sorted(v for v in distinct if not isinstance(v, str))
    texts = sorted(v for v in distinct if isinstance(v, str))
    return numbers + texts


# ------------------------------------------------------------------------------------------------ agree


def _nominal_label(value: Any, csv_text: bool, where: str, fld: str) -> Any:
    if isinstance(value, (dict, list)):
        raise DatasetError(f'{where}: field "{fld}" is {describe_value(value)}; a label must be a number or a '
                           f"string")
    if isinstance(value, bool):
        return "true" if value else "false"
    if csv_text:
        num = number_of(value, csv_text=True)
        return num if num is not None else str(value).strip()
    return value


def agree_file(path: str | Path, field_a: str, field_b: str, *, kind: str | None = None) -> dict[str, Any]:
    """Agreement between fields ``field_a`` and ``field_b`` of the rows of a JSONL or CSV file.

    ``kind`` None infers it from every present value of both fields: ordinal when all are integers (integral
    numbers), continuous when all are numbers, nominal otherwise. A NaN or an infinity is a missing value, not a
    number or a category, so it never changes the kind. Rows missing either field are left out and
    counted: ``n_rows = n_used + n_excluded``; ``n_missing_a``/``n_missing_b`` count each field on its own, so
    a row missing both counts in both (and in ``n_missing_both``).
    """
    if kind is not None and kind not in KINDS:
        raise DatasetError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    lf = read_label_file(path)
    lf.require_field(field_a, "--a")
    lf.require_field(field_b, "--b")
    csv_text = lf.format == "csv"

    # Raw present values per row, with the line for errors.
    raw: list[tuple[int, Any, Any]] = []
    for row in lf.rows:
        raw.append((row.line, lf.value(row, field_a), lf.value(row, field_b)))

    first_non_number: tuple[int, str, Any] | None = None
    all_integral = True
    for line, va, vb in raw:
        for fld, v in ((field_a, va), (field_b, vb)):
            if v is MISSING:
                continue
            num = number_of(v, csv_text=csv_text)
            if num is None:
                if first_non_number is None:
                    first_non_number = (line, fld, v)
            elif not float(num).is_integer():
                all_integral = False

    if kind is None:
        if first_non_number is not None:
            line, fld, v = first_non_number
            used_kind = "nominal"
            reason = (f'inferred: not every value is a number (first: line {line}, field "{fld}" is '
                      f"{describe_value(v)})")
        elif all_integral:
            used_kind, reason = "ordinal", "inferred: every value is an integer"
        else:
            used_kind, reason = "continuous", "inferred: every value is a number, not all integers"
    else:
        used_kind, reason = kind, "given"
        if kind != "nominal" and first_non_number is not None:
            line, fld, v = first_non_number
            hint = " (in JSONL, write numbers without quotes)" if not csv_text and isinstance(v, str) else ""
            raise DatasetError(f'{lf.source}:{line}: field "{fld}" is {describe_value(v)}, not a number; kind '
                               f"{kind} needs numbers{hint}; leave the value empty or null when it is missing")

    a_vals: list[Any] = []
    b_vals: list[Any] = []
    n_missing_a = n_missing_b = n_missing_both = 0
    for line, va, vb in raw:
        miss_a, miss_b = va is MISSING, vb is MISSING
        n_missing_a += miss_a
        n_missing_b += miss_b
        n_missing_both += miss_a and miss_b
        if miss_a or miss_b:
            continue
        if used_kind == "nominal":
            where = f"{lf.source}:{line}"
            a_vals.append(_nominal_label(va, csv_text, where, field_a))
            b_vals.append(_nominal_label(vb, csv_text, where, field_b))
        else:
            a_vals.append(number_of(va, csv_text=csv_text))
            b_vals.append(number_of(vb, csv_text=csv_text))

    labels = _nominal_order(a_vals + b_vals) if used_kind == "nominal" else None
    n_used = len(a_vals)
    return {
        "file": lf.source,
        "format": lf.format,
        "a": field_a,
        "b": field_b,
        "kind": used_kind,
        "kind_reason": reason,
        "n_rows": len(lf.rows),
        "n_used": n_used,
        "n_excluded": len(lf.rows) - n_used,
        "n_missing_a": n_missing_a,
        "n_missing_b": n_missing_b,
        "n_missing_both": n_missing_both,
        "agreement": agreement_block(a_vals, b_vals, used_kind, labels),
    }


# ------------------------------------------------------------------------------------------------ calibrate


@dataclass
class _Judged:
    """The judgments of one (sample, candidate, rubric): done ones by repeat, and how many failed."""

    done: list[tuple[int, str, float, str | None]] = field(default_factory=list)  # (repeat, judge, score, reasoning)
    failed: int = 0


def _judge_score(entry: _Judged, rule: str) -> float:
    """The output's judge score by the run's rule: each judge's done repeats combined, then the judges."""
    per_judge: dict[str, list[float]] = defaultdict(list)
    for _, judge, score, _ in entry.done:
        per_judge[judge].append(score)
    return output_verdict(per_judge, per_judge, rule)


@dataclass(frozen=True)
class _Label:
    line: int
    sample_id: str
    candidate: str
    rubric: str
    score: float | int


def _sample_id(value: Any, where: str, fld: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise DatasetError(f'{where}: field "{fld}" is {describe_value(value)}; a sample id must be a string or an '
                       f"integer")


def _named_or_only(raw: Any, choices: list[str], noun: str, where: str, field: str, run_id: str) -> str:
    """The rubric or candidate a label row names; with no such field, the run's only one (or an error)."""
    if raw is not MISSING:
        return _name(raw, where, field)
    if len(choices) > 1:
        raise DatasetError(f'{where}: no "{field}"; run {run_id} has {len(choices)} {noun} '
                           f"({', '.join(choices)}), so every label row must name one")
    return choices[0]


def _name(value: Any, where: str, fld: str) -> str:
    if isinstance(value, (dict, list)) or isinstance(value, bool):
        raise DatasetError(f'{where}: field "{fld}" is {describe_value(value)}; expected a name')
    return str(value).strip()


def _fmt_score(x: float | int) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


PREFERENCES = ["A better", "tie", "B better"]  # the three outcomes of a pairwise comparison, as classes
_TIE_TOL = 1e-9


@dataclass(frozen=True)
class _Preference:
    """A human preference between two candidates on one sample: ``outcome`` is model_a's result in [0, 1]."""

    line: int
    sample_id: str
    rubric: str
    model_a: str
    model_b: str
    outcome: float
    label: Any


def _preference_class(outcome: float) -> str:
    if outcome > 0.5 + _TIE_TOL:
        return PREFERENCES[0]
    if outcome < 0.5 - _TIE_TOL:
        return PREFERENCES[2]
    return PREFERENCES[1]


def _preference(value: Any, a: str, b: str, csv_text: bool, where: str, fld: str) -> float:
    """A human preference label as model_a's result: the winner's label, model_a / model_b (or A / B), a tie
    (any text starting with "tie", as in "tie (bothbad)"), or model_a's result as a number from 0 to 1."""
    if isinstance(value, str):
        text = value.strip()
        if text in (a, b):
            return 1.0 if text == a else 0.0
        low = text.lower()
        if low in ("model_a", "a"):
            return 1.0
        if low in ("model_b", "b"):
            return 0.0
        if low.startswith("tie"):
            return 0.5
    num = number_of(value, csv_text=csv_text) if not isinstance(value, (dict, list)) else None
    if num is not None and 0 <= num <= 1:
        return float(num)
    raise DatasetError(f'{where}: field "{fld}" is {describe_value(value)}; a preference names the better '
                       f"candidate ({a} or {b}), or is model_a, model_b or tie, or model_a's result as a number "
                       f"from 0 (model_b better) to 1 (model_a better)")


def _preference_block(judge: list[float], human: list[float]) -> dict[str, Any]:
    """Accuracy with and without ties and Cohen's kappa over the three outcomes (judge = A, human = B)."""
    jc = [_preference_class(x) for x in judge]
    hc = [_preference_class(x) for x in human]
    ag = agreement(jc, hc, kind="nominal", labels=PREFERENCES)
    decided = [(x, y) for x, y in zip(jc, hc) if PREFERENCES[1] not in (x, y)]
    return {"n": len(jc), "accuracy": ag.exact_agreement, "n_without_ties": len(decided),
            "accuracy_without_ties": _mean([float(x == y) for x, y in decided]),
            "cohen_kappa": ag.cohen_kappa, "labels": list(PREFERENCES), "confusion": ag.confusion}


def _missing_field_error(lf: LabelFile, run_id: str, what: str, choices: list[str], fld: str, option: str) -> None:
    raise DatasetError(f"{lf.source}: run {run_id} has {len(choices)} {what} ({', '.join(choices)}), so every label "
                       f'row must name its {what.split()[-1][:-1]}, but the file has no "{fld}" '
                       f"{'column' if lf.format == 'csv' else 'field'}; add one (or name it with {option})")


def calibrate_run(store: Store, run_id: str, human: str | Path, *, id_field: str = "id",
                  score_field: str = "score", rubric_field: str = "rubric", candidate_field: str = "candidate",
                  model_a_field: str = "model_a", model_b_field: str = "model_b", winner_field: str = "winner",
                  top: int = 5) -> dict[str, Any]:
    """Agreement between a run's judge (rater A) and human labels (rater B), per rubric.

    Pointwise rubrics: the judge score of a (sample, candidate, rubric) combines its done judgments by the run's
    `aggregate` rule, as `assay results` does. Pairwise rubrics: a label row names a pair (``model_a_field``,
    ``model_b_field``) and the better one (``winner_field``); the judge's outcome for the pair is the mean of its
    verdicts, as in `assay results`. Failed judgments are left out and counted. See docs/calibration.md.
    """
    if top < 0:
        raise DatasetError(f"--top must be 0 or more, got {top}")
    info = store.get_run(run_id)
    spec = info.spec
    rule = (spec.get("settings") or {}).get("aggregate", "mean")
    candidates = [c["label"] for c in spec["candidates"]]
    judges = [j["label"] for j in (spec.get("judges") or [spec["judge"]])]
    pairwise = [r["name"] for r in spec["rubrics"] if r.get("kind") == "pairwise"]
    rubrics = {r["name"]: r for r in spec["rubrics"] if r["name"] not in pairwise}
    limit = (spec.get("settings") or {}).get("limit")
    sample_ids = {s.id for s in store.iter_samples(info.dataset_id, limit=limit)}

    lf = read_label_file(human)
    lf.require_field(id_field, "--id-field")
    has_score, has_winner = lf.has_field(score_field), lf.has_field(winner_field)
    if not has_score and not has_winner:  # raises, naming the closest column
        lf.require_field(*((score_field, "--score-field") if rubrics else (winner_field, "--winner-field")))
    has_rubric = lf.has_field(rubric_field)
    if has_score and len(rubrics) > 1 and not has_rubric:
        _missing_field_error(lf, info.id, "scored rubrics", list(rubrics), rubric_field, "--rubric-field")
    if has_winner and len(pairwise) > 1 and not has_rubric:
        _missing_field_error(lf, info.id, "pairwise rubrics", pairwise, rubric_field, "--rubric-field")
    if has_score and rubrics and len(candidates) > 1 and not lf.has_field(candidate_field):
        _missing_field_error(lf, info.id, "candidates", candidates, candidate_field, "--candidate-field")
    csv_text = lf.format == "csv"
    every_rubric = list(rubrics) + pairwise

    labels: list[_Label] = []
    prefs: list[_Preference] = []
    seen: dict[tuple[Any, ...], int] = {}
    unmatched: list[dict[str, Any]] = []
    n_missing_id = n_missing_score = n_missing_winner = n_excluded = 0
    for row in lf.rows:
        where = f"{lf.source}:{row.line}"
        raw_id = lf.value(row, id_field)
        raw_rubric = lf.value(row, rubric_field)
        raw_winner = lf.value(row, winner_field) if has_winner else MISSING
        named = _name(raw_rubric, where, rubric_field) if raw_rubric is not MISSING else None
        if named is not None:
            is_pair = named in pairwise
        elif len(every_rubric) == 1:
            is_pair = bool(pairwise)
        else:
            is_pair = raw_winner is not MISSING and bool(pairwise)
        if is_pair:
            n_missing_id += raw_id is MISSING
            n_missing_winner += raw_winner is MISSING
            if raw_id is MISSING or raw_winner is MISSING:
                n_excluded += 1
                continue
            pref = _read_preference(lf, row, where, raw_id, raw_winner, named, pairwise, candidates, sample_ids,
                                    info.id, id_field, model_a_field, model_b_field, winner_field, csv_text)
            if isinstance(pref, dict):
                unmatched.append(pref)
                continue
            key: tuple[Any, ...] = (pref.sample_id, pref.rubric, frozenset((pref.model_a, pref.model_b)))
            if key in seen:
                raise DatasetError(f"{where}: sample {pref.sample_id!r}, pair {pref.model_a} and {pref.model_b}, "
                                   f"rubric {pref.rubric!r} is already labelled on line {seen[key]}; keep one "
                                   f"human preference per pair")
            seen[key] = row.line
            prefs.append(pref)
            continue

        raw_score = lf.value(row, score_field)
        score = None
        if raw_score is not MISSING:
            score = number_of(raw_score, csv_text=csv_text)
            if score is None:
                quoted = not csv_text and isinstance(raw_score, str)
                hint = " (in JSONL, write numbers without quotes)" if quoted else ""
                raise DatasetError(f'{where}: field "{score_field}" is {describe_value(raw_score)}, not a number'
                                   f"{hint}; leave it empty or null when the item has no human score")
        n_missing_id += raw_id is MISSING
        n_missing_score += raw_score is MISSING
        if raw_id is MISSING or score is None:
            n_excluded += 1
            continue
        sid = _sample_id(raw_id, where, id_field)
        rubric = named if named is not None else _only(list(rubrics), "scored rubrics", where, rubric_field,
                                                       info.id)
        cand = _named_or_only(lf.value(row, candidate_field), list(candidates), "candidates", where,
                              candidate_field, info.id)

        reason = None
        if sid not in sample_ids:
            reason = "sample not in the run"
        elif rubric not in rubrics:
            reason = "rubric not in the run"
        elif cand not in candidates:
            reason = "candidate not in the run"
        if reason:
            unmatched.append({"line": row.line, "sample_id": sid, "rubric": rubric, "candidate": cand,
                              "reason": reason})
            continue

        lo, hi = rubrics[rubric]["scale"]["min"], rubrics[rubric]["scale"]["max"]
        if not lo <= score <= hi:
            raise DatasetError(f'{where}: human score {_fmt_score(score)} is outside rubric "{rubric}"\'s scale '
                               f"{lo}–{hi}; put the labels on the rubric's scale")
        key = (sid, cand, rubric)
        if key in seen:
            raise DatasetError(f"{where}: sample {sid!r}, candidate {cand!r}, rubric {rubric!r} is already labelled "
                               f"on line {seen[key]}; keep one human score per item (e.g. the raters' mean)")
        seen[key] = row.line
        labels.append(_Label(row.line, sid, cand, rubric, score))

    per_rubric = _scored_rubrics(store, info.id, rubrics, labels, candidates, judges, rule, top)
    per_pairwise = _pairwise_rubrics(store, info.id, pairwise, prefs, judges, top)
    return {
        "run": {"id": info.id, "name": info.name, "status": info.status, "judges": judges,
                "candidates": candidates, "rubrics": list(rubrics), "pairwise_rubrics": pairwise,
                "aggregate": rule},
        "labels": {"file": lf.source, "format": lf.format,
                   "fields": {"id": id_field, "score": score_field, "rubric": rubric_field,
                              "candidate": candidate_field, "model_a": model_a_field, "model_b": model_b_field,
                              "winner": winner_field},
                   "n_rows": len(lf.rows), "n_matched": len(labels) + len(prefs), "n_excluded": n_excluded,
                   "n_missing_id": n_missing_id, "n_missing_score": n_missing_score,
                   "n_missing_winner": n_missing_winner,
                   "n_unmatched": len(unmatched), "unmatched": unmatched[:MAX_LISTED]},
        "a": "judge",
        "b": "human",
        "kind": "ordinal",
        "rubrics": per_rubric,
        "pairwise": per_pairwise,
    }


def _only(choices: list[str], noun: str, where: str, fld: str, run_id: str) -> str:
    """The run's only rubric of a kind, for a label row that names none."""
    if not choices:
        raise DatasetError(f"{where}: run {run_id} has no {noun}")
    return _named_or_only(MISSING, choices, noun, where, fld, run_id)


def _read_preference(lf: LabelFile, row: LabelRow, where: str, raw_id: Any, raw_winner: Any, named: str | None,
                     pairwise: list[str], candidates: list[str], sample_ids: set[str], run_id: str, id_field: str,
                     a_field: str, b_field: str, winner_field: str, csv_text: bool) -> _Preference | dict[str, Any]:
    """A preference row read and checked; an unmatched row as its listing (a dict) instead."""
    sid = _sample_id(raw_id, where, id_field)
    rubric = named if named is not None else _only(pairwise, "pairwise rubrics", where, "rubric", run_id)
    raw_a, raw_b = lf.value(row, a_field), lf.value(row, b_field)
    if raw_a is MISSING and raw_b is MISSING and len(candidates) == 2:
        a, b = candidates
    elif raw_a is MISSING or raw_b is MISSING:
        missing = a_field if raw_a is MISSING else b_field
        raise DatasetError(f'{where}: no "{missing}"; a preference row names its pair in "{a_field}" and '
                           f'"{b_field}" (they may be left out only when the run has two candidates)')
    else:
        a, b = _name(raw_a, where, a_field), _name(raw_b, where, b_field)
        if a == b:
            raise DatasetError(f'{where}: "{a_field}" and "{b_field}" are both {a!r}; a preference compares two '
                               f"candidates")
    reason = None
    if sid not in sample_ids:
        reason = "sample not in the run"
    elif a not in candidates or b not in candidates:
        reason = "candidate not in the run"
    if reason:
        return {"line": row.line, "sample_id": sid, "rubric": rubric, "candidate": f"{a} vs {b}", "reason": reason}
    outcome = _preference(raw_winner, a, b, csv_text, where, winner_field)
    return _Preference(row.line, sid, rubric, a, b, outcome, raw_winner)


def _scored_rubrics(store: Store, run_id: str, rubrics: dict[str, Any], labels: list[_Label],
                    candidates: list[str], judges: list[str], rule: str, top: int) -> list[dict[str, Any]]:
    """Judge scores against human scores, per pointwise rubric."""
    judged: dict[tuple[str, str, str], _Judged] = defaultdict(_Judged)
    for j in store.judgments(run_id) if rubrics else []:
        entry = judged[(j["sample_id"], j["candidate"], j["rubric"])]
        if j["status"] == "done" and j["score"] is not None:
            entry.done.append((j["repeat"], j["judge"], float(j["score"]), j["reasoning"]))
        else:
            entry.failed += 1
    for entry in judged.values():
        entry.done.sort(key=lambda d: (d[0], d[1]))

    per_rubric = []
    for rname, rubric in rubrics.items():
        mine = [lab for lab in labels if lab.rubric == rname]
        pairs: dict[str, list[tuple[_Label, float, _Judged]]] = {c: [] for c in candidates}
        no_score: dict[str, int] = defaultdict(int)
        failed: dict[str, int] = defaultdict(int)
        for lab in mine:
            entry = judged.get((lab.sample_id, lab.candidate, rname), _Judged())
            failed[lab.candidate] += entry.failed
            if not entry.done:
                no_score[lab.candidate] += 1
                continue
            pairs[lab.candidate].append((lab, _judge_score(entry, rule), entry))

        def block(items: list[tuple[_Label, float, _Judged]]) -> dict[str, Any]:
            return agreement_block([judge for _, judge, _ in items], [lab.score for lab, _, _ in items], "ordinal")

        everything = [p for c in candidates for p in pairs[c]]
        by_candidate = []
        for c in candidates:
            n_labels = sum(1 for lab in mine if lab.candidate == c)
            if not n_labels:
                continue
            by_candidate.append({"candidate": c, "n_labels": n_labels, "n_no_judge_score": no_score[c],
                                 "n_failed_judgments": failed[c], **block(pairs[c])})

        by_judge = []
        if len(judges) > 1:
            for jd in judges:
                jpairs = [(lab, [d[2] for d in entry.done if d[1] == jd]) for lab, _, entry in everything]
                kept = [(lab, combine(v, rule)) for lab, v in jpairs if v]
                by_judge.append({"judge": jd, "n_no_judge_score": len(jpairs) - len(kept),
                                 **agreement_block([j for _, j in kept], [lab.score for lab, _ in kept], "ordinal")})

        order = {c: i for i, c in enumerate(candidates)}
        ranked = sorted((p for p in everything if p[1] != p[0].score),
                        key=lambda p: (-abs(p[1] - p[0].score), p[0].line, order[p[0].candidate]))
        disagreements = []
        for lab, judge, entry in ranked[:top]:
            disagreements.append({
                "sample_id": lab.sample_id, "candidate": lab.candidate, "rubric": rname, "line": lab.line,
                "judge_score": judge, "human_score": lab.score, "diff": judge - lab.score,
                "abs_diff": abs(judge - lab.score),
                "reasoning": entry.done[0][3],
                "judgments": [{"repeat": r, "judge": jd, "score": s, "reasoning": why}
                              for r, jd, s, why in entry.done],
            })
        per_rubric.append({
            "rubric": rname, "scale": [rubric["scale"]["min"], rubric["scale"]["max"]],
            "n_labels": len(mine), "n_used": len(everything),
            "n_no_judge_score": sum(no_score.values()), "n_failed_judgments": sum(failed.values()),
            "overall": block(everything), "by_candidate": by_candidate, "by_judge": by_judge,
            "disagreements": disagreements,
        })
    return per_rubric


def _oriented(units: list[PairUnit], model_a: str) -> float:
    """The pair's outcome (the mean of its verdicts) as ``model_a``'s result."""
    outcome = pair_outcome(units)
    return outcome if units[0].model_a == model_a else 1.0 - outcome


def _pairwise_rubrics(store: Store, run_id: str, pairwise: list[str], prefs: list[_Preference],
                      judges: list[str], top: int) -> list[dict[str, Any]]:
    """Judge preferences against human preferences, per pairwise rubric."""
    rows = store.pairwise(run_id) if pairwise else []
    out = []
    for rname in pairwise:
        mine_rows = [r for r in rows if r["rubric"] == rname]
        units: dict[tuple[str, frozenset[str]], list[PairUnit]] = defaultdict(list)
        for u in pair_units(mine_rows):
            units[(u.sample_id, frozenset((u.model_a, u.model_b)))].append(u)
        failed: dict[tuple[str, frozenset[str]], int] = defaultdict(int)
        for r in mine_rows:
            if r["status"] != "done":
                failed[(r["sample_id"], frozenset((r["model_a"], r["model_b"])))] += 1
        mine = [p for p in prefs if p.rubric == rname]
        items: list[tuple[_Preference, float, list[PairUnit]]] = []
        n_failed = n_no_verdict = 0
        for p in mine:
            key = (p.sample_id, frozenset((p.model_a, p.model_b)))
            n_failed += failed[key]
            if not units[key]:
                n_no_verdict += 1
                continue
            items.append((p, _oriented(units[key], p.model_a), units[key]))
        by_judge = []
        if len(judges) > 1:
            for jd in judges:
                kept = []
                for p, _, us in items:
                    own = [u for u in us if u.judge == jd]
                    if own:
                        kept.append((p, _oriented(own, p.model_a)))
                by_judge.append({"judge": jd, "n_no_judge_verdict": len(items) - len(kept),
                                 **_preference_block([o for _, o in kept], [p.outcome for p, _ in kept])})
        ranked = sorted((it for it in items if _preference_class(it[1]) != _preference_class(it[0].outcome)),
                        key=lambda it: (-abs(it[1] - it[0].outcome), it[0].line))
        disagreements = [{
            "sample_id": p.sample_id, "model_a": p.model_a, "model_b": p.model_b, "rubric": rname, "line": p.line,
            "judge_outcome": o, "human_outcome": p.outcome, "judge_preference": _preference_class(o),
            "human_preference": _preference_class(p.outcome), "human_label": p.label,
            "verdicts": [{"judge": u.judge, "repeat": u.repeat,
                          "a_shown_first": u.ab if u.model_a == p.model_a else 1.0 - u.ba,
                          "b_shown_first": u.ba if u.model_a == p.model_a else 1.0 - u.ab} for u in us],
        } for p, o, us in ranked[:top]]
        out.append({"rubric": rname, "n_labels": len(mine), "n_used": len(items),
                    "n_no_judge_verdict": n_no_verdict, "n_failed_verdicts": n_failed,
                    "overall": _preference_block([o for _, o, _ in items], [p.outcome for p, _, _ in items]),
                    "by_judge": by_judge, "disagreements": disagreements})
    return out


__all__ = ["agree_file", "agreement_block", "calibrate_run"]
