"""Datasets: the `Sample` record, parsing dataset files into samples, and exporting samples back.

- `records`: `Message`, `Sample` (one row: context, reference, pre-generated outputs, tools, metadata) and
  `content_hash` (the version of a list of samples).
- `parse`: `parse_file` / `parse_lines` read JSONL (chat, source, simple rows) or CSV into a `ParseResult`; invalid
  rows become `RowError`s with file line numbers.
- `export`: `export_rows` turns samples into chat, source or simple rows that re-import to the same samples.
"""

from assay.dataset.export import export_rows
from assay.dataset.parse import ParseResult, RowError, parse_file, parse_lines
from assay.dataset.records import DatasetKind, Message, Sample, content_hash

__all__ = [
    "DatasetKind",
    "Message",
    "ParseResult",
    "RowError",
    "Sample",
    "content_hash",
    "export_rows",
    "parse_file",
    "parse_lines",
]
