"""Reading CSV the same way for datasets and label files: records numbered by the line where they start,
malformed CSV reported as a `DatasetError` naming ``FILE:LINE``, and a header row whose columns all have
distinct, non-empty names."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from typing import Any

from assay.errors import DatasetError


def csv_records(reader: Any, source: str) -> Iterator[tuple[int, list[str]]]:
    """Each record of a ``csv.reader`` with the 1-based line where it starts. Malformed CSV raises `DatasetError`."""
    while True:
        start = reader.line_num + 1
        try:
            rec = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            msg = str(exc)
            if "unexpected end of data" in msg:
                msg = "a quoted cell is never closed (unbalanced double quote)"
            raise DatasetError(f"{source}:{start}: malformed CSV: {msg}; fix the quoting of this record") from exc
        yield start, rec


def read_header(records: Iterator[tuple[int, list[str]]], source: str, *, empty: str,
                check_name: Callable[[str], str | None] | None = None) -> tuple[list[str], int]:
    """The first non-blank record of `csv_records` as the header (names stripped), and the line where it starts.

    Raises `DatasetError` with ``"{source}: {empty}"`` when there is no such record, and when a column has no
    name or a name is used twice. ``check_name``, when given, checks each named column in turn as well: it
    returns what is wrong with the name (the error message, without ``FILE:LINE``) or None.
    """
    for line, rec in records:
        if any(c.strip() for c in rec):
            header_line, header = line, [c.strip() for c in rec]
            break
    else:
        raise DatasetError(f"{source}: {empty}")
    seen: set[str] = set()
    for i, name in enumerate(header, 1):
        if not name:
            raise DatasetError(f"{source}:{header_line}: header column {i} has no name; name it or delete the "
                               f"column (with pandas, write the file with index=False)")
        if name in seen:
            raise DatasetError(f'{source}:{header_line}: the header names column "{name}" twice; column names must '
                               f'be unique')
        if check_name is not None and (problem := check_name(name)) is not None:
            raise DatasetError(f"{source}:{header_line}: {problem}")
        seen.add(name)
    return header, header_line
