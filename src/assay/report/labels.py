"""Reading label files: one row per labelled item, in JSONL or CSV, for `assay agree` and `assay calibrate`.

A label file is CSV when its name ends in ``.csv`` (a header row names the columns) and JSONL otherwise (one
JSON object per line; blank lines are skipped). Every row keeps the 1-based line number where it starts, so
that every error and every listed row can name ``FILE:LINE``.

Fields are named by a column (CSV) or a key (JSONL). In JSONL a field may be a dotted path into nested
objects: ``scores.judge`` reads ``{"scores": {"judge": 7}}``; a key that itself contains dots is matched first.

A value is **missing** when the field is absent, null, an empty (or blank) string, or a non-finite number:
``NaN``, ``Infinity`` or ``-Infinity`` (which Python's ``json`` writes for float NaN and infinities), a number too
large for a float such as ``1e400``, or a CSV cell that reads as one of them (``nan``, ``inf``, ``-Infinity``,
...). Missing values are counted by the callers and left out, never guessed. In CSV every cell is text;
`number_of` turns a cell into a number when it is written as one. In JSONL, numbers must be JSON numbers: ``"7"``
(a string) is not read as 7.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.dataset.csvfile import csv_records, read_header
from assay.dataset.textfile import read_lines
from assay.errors import DatasetError

MISSING: Any = object()  # the value of a missing field (absent, null, an empty string or a non-finite number)


@dataclass(frozen=True)
class LabelRow:
    line: int
    data: dict[str, Any]


@dataclass(frozen=True)
class LabelFile:
    """The rows of a label file. ``columns``: the CSV header, or every top-level key seen in JSONL rows."""

    source: str
    format: str  # "jsonl" | "csv"
    rows: list[LabelRow]
    columns: list[str]

    def value(self, row: LabelRow, field: str) -> Any:
        """The row's value of ``field`` (a column, a key, or a dotted path in JSONL), or MISSING."""
        return _lookup(row.data, field, self.source, row.line, self.format == "jsonl")

    def has_field(self, field: str) -> bool:
        """Whether any row could hold ``field``: a CSV header column, or a JSONL field present in some row."""
        if self.format == "csv":
            return field in self.columns
        return any(_present(r.data, field) for r in self.rows)

    def require_field(self, field: str, option: str) -> None:
        """Raise a clear error when no row has ``field`` at all: almost always a typo in its name."""
        if self.has_field(field):
            return
        import difflib

        shown = ", ".join(self.columns[:20]) + (", ..." if len(self.columns) > 20 else "") or "none"
        close = difflib.get_close_matches(field, self.columns, n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        what = "column" if self.format == "csv" else "field"
        raise DatasetError(f'{self.source}: no {what} "{field}" ({option}){hint}; '
                           f"{'columns' if self.format == 'csv' else 'top-level fields'}: {shown}")


def _present(data: dict[str, Any], field: str) -> bool:
    if field in data:
        return True
    cur: Any = data
    for part in field.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return False
        cur = cur[part]
    return True


def _lookup(data: dict[str, Any], field: str, source: str, line: int, dotted: bool) -> Any:
    if field in data:
        value = data[field]
    elif not dotted or "." not in field:
        return MISSING
    else:
        value = data
        walked: list[str] = []
        for part in field.split("."):
            if value is None:
                return MISSING
            if not isinstance(value, dict):
                raise DatasetError(f'{source}:{line}: field "{field}": "{".".join(walked)}" is '
                                   f"{_describe(value)}, not an object, so it has no \"{part}\"")
            if part not in value:
                return MISSING
            value = value[part]
            walked.append(part)
    if value is None or (isinstance(value, str) and not value.strip()) or _non_finite(value, dotted):
        return MISSING
    return value


def _non_finite(value: Any, jsonl: bool) -> bool:
    """A NaN or an infinity: a JSON number (Python's json reads NaN, Infinity and 1e400 as such floats), or in
    CSV a cell that `float()` reads as one. It is no label: a missing value, not a category or a score."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if jsonl or not isinstance(value, str):
        return False
    try:
        return not math.isfinite(float(value.strip()))
    except ValueError:
        return False


def _describe(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return f"a number ({v})"
    if isinstance(v, str):
        s = json.dumps(v, ensure_ascii=False)
        return s if len(s) <= 40 else s[:36] + '..."'
    if isinstance(v, dict):
        return "an object"
    if isinstance(v, list):
        return "a list"
    return type(v).__name__


def describe_value(v: Any) -> str:
    """A short description of a value for error messages."""
    return _describe(v)


def number_of(value: Any, *, csv_text: bool) -> float | int | None:
    """The value as a finite number (an int when it is integral and written without a fraction), or None.

    JSON numbers are numbers; booleans and JSON strings are not. CSV cells are numbers when ``float()`` reads
    them (surrounding spaces allowed). NaN and infinities are never numbers.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if csv_text and isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            f = float(text)
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def _read_jsonl(lines: Iterator[str], source: str) -> LabelFile:
    rows: list[LabelRow] = []
    keys: dict[str, None] = {}
    for n, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{source}:{n}: not valid JSON ({exc.msg} at column {exc.colno}); each line must "
                               f"be one JSON object") from None
        if not isinstance(obj, dict):
            raise DatasetError(f"{source}:{n}: expected a JSON object, got {_describe(obj)}")
        keys.update(dict.fromkeys(obj))
        rows.append(LabelRow(n, obj))
    return LabelFile(source, "jsonl", rows, list(keys))


def _read_csv(lines: Iterator[str], source: str) -> LabelFile:
    records = csv_records(csv.reader(lines, strict=True), source)
    header, _ = read_header(records, source, empty="the file is empty; the first line must name the columns")
    rows: list[LabelRow] = []
    for start, rec in records:
        if not any(c.strip() for c in rec):  # a blank line, or a spreadsheet's row of empty cells
            continue
        if len(rec) != len(header):
            raise DatasetError(f"{source}:{start}: {len(rec)} cells, but the header has {len(header)} columns; "
                               f"every row needs one cell per column (leave a cell empty for a missing value)")
        rows.append(LabelRow(start, dict(zip(header, rec))))
    return LabelFile(source, "csv", rows, header)


def read_label_file(path: str | Path) -> LabelFile:
    """Read a JSONL or CSV label file. Raises `DatasetError` (naming the file and line) on anything malformed."""
    result = read_lines(path, lambda lines, source, is_csv: (_read_csv if is_csv else _read_jsonl)(lines, source))
    if not result.rows:
        raise DatasetError(f"{result.source}: no rows"
                           + (" (the file has only a header)" if result.format == "csv" else ""))
    return result


__all__ = ["MISSING", "LabelFile", "LabelRow", "describe_value", "number_of", "read_label_file"]
