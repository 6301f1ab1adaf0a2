"""Export `Sample`s as JSONL-ready rows in the chat, source or simple format (the inverse of `parse`).

Every row carries the sample's id, so re-importing an export gives back the same ids, context and reference
(derived ids are written out too). What each format can't hold:

- **chat**: the reference is appended as a final assistant turn. A sample *without* a reference whose context ends
  with an assistant turn can't be told apart from one with a reference; on re-import that turn becomes the
  reference (trailing tool-call-only assistant turns are dropped). Export such samples as simple or source instead.
- **source**: the request's model is ``metadata["source_model"]``, left out when unset (so a re-import invents
  no model); outputs other than the one the response already records are kept under ``"outputs"``.
- **simple**: lossless.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal

from assay.dataset.records import Sample
from assay.errors import DatasetError

__all__ = ["ExportFormat", "export_rows"]

ExportFormat = Literal["chat", "source", "simple"]


def _common(row: dict[str, Any], s: Sample, *, tools: bool = True, outputs: dict[str, str] | None = None) -> None:
    if tools and s.tools is not None:
        row["tools"] = s.tools
    if s.metadata:
        row["metadata"] = s.metadata
    outputs = s.outputs if outputs is None else outputs
    if outputs:
        row["outputs"] = outputs


def _chat(s: Sample) -> dict[str, Any]:
    messages = [m.to_api() for m in s.context]
    if s.reference is not None:
        messages.append({"role": "assistant", "content": s.reference})
    row: dict[str, Any] = {"id": s.id, "messages": messages}
    _common(row, s)
    return row


def _source(s: Sample) -> dict[str, Any]:
    model = s.metadata.get("source_model")
    request: dict[str, Any] = {"model": model} if model else {}
    request["messages"] = [m.to_api() for m in s.context]
    if s.tools is not None:
        request["tools"] = s.tools
    response = None
    if s.reference is not None:
        response = {"choices": [{"index": 0, "message": {"role": "assistant", "content": s.reference},
                                 "finish_reason": "stop"}]}
    # The response already records `outputs[model]`; re-import restores it from there.
    outputs = {k: v for k, v in s.outputs.items() if not (k == model and v == s.reference)}
    row: dict[str, Any] = {"id": s.id, "request": request, "response": response}
    _common(row, s, tools=False, outputs=outputs)
    return row


def _simple(s: Sample) -> dict[str, Any]:
    ctx = s.context
    single = len(ctx) == 1 and ctx[0].role == "user" and isinstance(ctx[0].content, str) and ctx[0].name is None
    row: dict[str, Any] = {"id": s.id, "input": ctx[0].content if single else [m.to_api() for m in ctx],
                           "reference": s.reference}
    _common(row, s)
    return row


_EXPORTERS = {"chat": _chat, "source": _source, "simple": _simple}


def export_rows(samples: Iterable[Sample], *, format: ExportFormat) -> Iterator[dict[str, Any]]:
    """Rows (JSON-serializable dicts, one per sample, in order) in `format`; write each with `json.dumps`."""
    try:
        make = _EXPORTERS[format]
    except KeyError:
        raise DatasetError(f"unknown export format {format!r}; expected one of chat, source, simple") from None
    return (make(s) for s in samples)
