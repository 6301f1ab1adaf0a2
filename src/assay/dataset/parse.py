"""Parse dataset files (JSONL in three formats, or CSV) into `Sample`s.

Entry points: `parse_file(path)` and `parse_lines(lines, source=...)`. Both return a `ParseResult` holding the
samples, the per-row `RowError`s of rows that were skipped, the detected format and the number of lines read.

Formats (one row per line in JSONL; the format is detected per row and must be the same for every row):

- **chat** -- ``{"messages": [...], "id"?, "tools"?, "metadata"?, "outputs"?}``. Trailing assistant turns without
  text (only ``tool_calls``) are dropped. Then, if the conversation ends with an assistant turn, that turn's text is
  the reference and the messages before it are the context; otherwise (no assistant turn, or the conversation ends
  with a user/tool/system turn the candidate should answer) the reference is None and every message is context.
  So the reference is always the text of the last assistant turn that has text, *unless* a non-assistant turn
  follows it: then the row is a conversation prefix to be answered and nothing is dropped.
- **source** -- ``{"request": <raw provider request body>, "response": <raw response body or null>, "id"?,
  "metadata"?, "outputs"?}``. The context is ``request.messages`` (preceded by a system message made from an
  Anthropic-style top-level ``request.system``); the reference is the response text (OpenAI
  ``choices[0].message.content``, or the concatenated text blocks of an Anthropic ``content`` list). When the
  request names a model, ``metadata["source_model"]`` is set to it and, when there is a reference,
  ``outputs[model]`` too, so captured production outputs can be judged without re-generating them. Because request
  bodies are raw captures, a ``developer`` role is read as ``system`` and null-valued extra message keys (such as
  ``"refusal": null``) are ignored.
- **simple** -- ``{"input": str | [messages], "reference"?: str | null, "id"?, "metadata"?, "outputs"?,
  "tools"?}``. A string input becomes one user message.
- **csv** -- a header row naming the columns; ``input`` is required; ``reference``, ``id`` and ``output:<label>``
  columns are optional; every other column goes into metadata as a string. An empty ``reference``, ``id`` or
  ``output:<label>`` cell means "absent". Files are CSV when their name ends in ``.csv``.

Unknown keys are row errors (a typo such as ``"refrence"`` must not be silently ignored), except inside
``metadata`` and inside content parts, tool definitions and tool calls, which are passed through as they are.

Sample ids: the row's ``id`` when it has one (duplicates are row errors on the later line). Otherwise an id derived
from the content: ``"s-"`` + the first 12 hex digits of the sha256 of the canonical JSON of context and reference.
Derived ids never collide: when the base id is already taken (by an explicit id anywhere in the file, or by an
earlier row with identical content) the row gets the first free suffix ``-2``, ``-3``, ... in file order.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import gc
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from assay.dataset.csvfile import csv_records, read_header
from assay.dataset.records import Message, Sample
from assay.dataset.textfile import read_lines
from assay.errors import DatasetError

__all__ = ["ParseResult", "RowError", "parse_file", "parse_lines"]

Format = Literal["chat", "source", "simple", "csv"]

ROLES = ("system", "user", "assistant", "tool")
_ROLE_SET = frozenset(ROLES)
_MSG_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id")
_MSG_KEY_SET = frozenset(_MSG_KEYS)
_ROW_KEYS = {
    "chat": ("messages", "id", "tools", "metadata", "outputs"),
    "source": ("request", "response", "id", "metadata", "outputs"),
    "simple": ("input", "reference", "id", "metadata", "outputs", "tools"),
}
_ROW_KEY_SETS = {k: frozenset(v) for k, v in _ROW_KEYS.items()}
_DETECT_KEYS = ("messages", "request", "input")

_MAX_LISTED = 10  # row errors listed in a strict-mode failure
_MAX_LISTED_NO_ROWS = 5  # row errors listed when no row is valid


@dataclass(frozen=True)
class RowError:
    """A row that was skipped: its 1-based line number in the file (for CSV, where the record starts) and why."""

    line: int
    reason: str
    source: str = ""

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class ParseResult:
    """The outcome of parsing one file: the valid samples in file order, and the errors of the skipped rows."""

    format: Format
    samples: list[Sample]
    errors: list[RowError]
    source: str
    n_lines: int


class _Bad(Exception):
    """A row failed validation; the message is the row error's reason."""


# ----------------------------------------------------------------------------------------------- value checks


def _describe(v: Any) -> str:
    """A short description of a JSON value for error messages: '"bot"', 'a number (5)', 'an object', ..."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        s = json.dumps(v, ensure_ascii=False)
        return s if len(s) <= 60 else s[:56] + '..."'
    if isinstance(v, (int, float)):
        return f"a number ({v})"
    if isinstance(v, dict):
        return "an object"
    if isinstance(v, list):
        return "an empty list" if not v else "a list"
    return type(v).__name__


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _check_keys(obj: dict[str, Any], allowed: tuple[str, ...], allowed_set: frozenset[str], where: str,
                what: str, *, skip_nulls: bool = False) -> None:
    for k in obj:
        if k in allowed_set or (skip_nulls and obj[k] is None):
            continue
        close = difflib.get_close_matches(k, allowed, n=1, cutoff=0.6)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        prefix = f"{where}: " if where else ""
        raise _Bad(f'{prefix}unexpected key "{k}"{hint}; {what} may have only: {", ".join(allowed)}')


def _parts(content: list[Any], where: str) -> None:
    for j, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise _Bad(f'{where}[{j}]: expected a content part (an object with a string "type"); '
                       f"got {_describe(part)}")
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            raise _Bad(f'{where}[{j}].text: expected a string in a "text" part; got {_describe(part.get("text"))}')


def _has_text(content: Any) -> bool:
    if isinstance(content, str):
        return True
    return isinstance(content, list) and any(p["type"] == "text" for p in content)


def _text(content: str | list[dict[str, Any]]) -> str:
    """Same rule as `Message.text()`: the string, or the text parts joined by newlines."""
    if isinstance(content, str):
        return content
    return "\n".join(p["text"] for p in content if p["type"] == "text")


def _message(obj: Any, where: str, *, raw: bool = False) -> dict[str, Any]:
    """Validate one message; returns it normalized (no null fields), ready for `Message(**d)`.

    `raw` is for captured request bodies: null extra keys are ignored and role "developer" is read as "system".
    """
    if not isinstance(obj, dict):
        raise _Bad(f'{where}: expected a message (an object with "role" and "content"); got {_describe(obj)}')
    _check_keys(obj, _MSG_KEYS, _MSG_KEY_SET, where, "a message", skip_nulls=raw)
    role = obj.get("role")
    if not isinstance(role, str) or role not in _ROLE_SET:
        if raw and role == "developer":
            role = "system"
        elif role is None:
            raise _Bad(f"{where}.role: missing; expected one of {', '.join(ROLES)}")
        else:
            raise _Bad(f"{where}.role: expected one of {', '.join(ROLES)}; got {_describe(role)}")
    out: dict[str, Any] = {"role": role}

    tool_calls = obj.get("tool_calls")
    if tool_calls is not None:
        if role != "assistant":
            raise _Bad(f"{where}.tool_calls: only assistant messages may have tool_calls; this one is {role}")
        if not isinstance(tool_calls, list) or not all(isinstance(c, dict) for c in tool_calls):
            raise _Bad(f"{where}.tool_calls: expected a list of tool-call objects; got {_describe(tool_calls)}")

    content = obj.get("content")
    if content is None:
        if not (role == "assistant" and tool_calls):
            state = "null" if "content" in obj else "missing"
            raise _Bad(f"{where}.content: {state}; expected a string or a list of content parts "
                       "(only an assistant message with tool_calls may have no content)")
    elif isinstance(content, list):
        _parts(content, f"{where}.content")
    elif not isinstance(content, str):
        raise _Bad(f"{where}.content: expected a string or a list of content parts; got {_describe(content)}")
    if content is not None:
        out["content"] = content

    name = obj.get("name")
    if name is not None:
        if not isinstance(name, str):
            raise _Bad(f"{where}.name: expected a string; got {_describe(name)}")
        out["name"] = name
    if tool_calls is not None:
        out["tool_calls"] = tool_calls

    tool_call_id = obj.get("tool_call_id")
    if role == "tool":
        if tool_call_id is None:
            raise _Bad(f"{where}.tool_call_id: missing; a tool message needs the id of the tool call it answers")
        if not isinstance(tool_call_id, str) or not tool_call_id:
            raise _Bad(f"{where}.tool_call_id: expected a non-empty string; got {_describe(tool_call_id)}")
        out["tool_call_id"] = tool_call_id
    elif tool_call_id is not None:
        raise _Bad(f"{where}.tool_call_id: only tool messages may have tool_call_id; this one is {role}")
    return out


def _messages(value: Any, where: str, *, raw: bool = False) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise _Bad(f"{where}: expected a non-empty list of messages; got {_describe(value)}")
    return [_message(m, f"{where}[{i}]", raw=raw) for i, m in enumerate(value)]


def _row_id(row: dict[str, Any]) -> str | None:
    v = row.get("id")
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise _Bad(f"id: expected a string or an integer; got {_describe(v)}")
    s = str(v)
    if not s.strip():
        raise _Bad("id: expected a non-empty string; got an empty one (leave the key out to derive an id)")
    return s


def _metadata(row: dict[str, Any]) -> dict[str, Any]:
    v = row.get("metadata")
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise _Bad(f"metadata: expected an object; got {_describe(v)}")
    return v


def _outputs(row: dict[str, Any]) -> dict[str, str]:
    v = row.get("outputs")
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise _Bad(f"outputs: expected an object mapping labels to output strings; got {_describe(v)}")
    for label, text in v.items():
        if not isinstance(text, str):
            raise _Bad(f"outputs[{json.dumps(label, ensure_ascii=False)}]: expected a string; got {_describe(text)}")
    return v


def _tools(v: Any, where: str) -> list[dict[str, Any]] | None:
    if v is None:
        return None
    if not isinstance(v, list) or not all(isinstance(t, dict) for t in v):
        raise _Bad(f"{where}: expected a list of tool-definition objects; got {_describe(v)}")
    return v


# ----------------------------------------------------------------------------------------------- row formats

# A validated row: (explicit id or None, context message dicts, reference, outputs, tools, metadata).
_Row = tuple[str | None, list[dict[str, Any]], str | None, dict[str, str], list[dict[str, Any]] | None,
             dict[str, Any]]


def _chat_row(row: dict[str, Any]) -> _Row:
    _check_keys(row, _ROW_KEYS["chat"], _ROW_KEY_SETS["chat"], "", "a chat row")
    msgs = _messages(row["messages"], "messages")
    end = len(msgs)
    while end and msgs[end - 1]["role"] == "assistant" and not _has_text(msgs[end - 1].get("content")):
        end -= 1  # trailing tool-call-only turns: part of the reference turn, which a Sample holds as text only
    reference = None
    if end and msgs[end - 1]["role"] == "assistant":
        reference = _text(msgs[end - 1]["content"])
        end -= 1
    if not end:
        raise _Bad("messages: the context is empty: the last assistant turn is the reference and nothing comes "
                   "before it; add the user turn (or system prompt) it answers")
    return (_row_id(row), msgs[:end], reference, _outputs(row), _tools(row.get("tools"), "tools"), _metadata(row))


def _response_text(resp: Any) -> str | None:
    if resp is None:
        return None
    if not isinstance(resp, dict):
        raise _Bad(f"response: expected a provider response object or null; got {_describe(resp)}")
    if "choices" in resp:  # OpenAI chat.completions
        choices = resp["choices"]
        if not isinstance(choices, list) or not choices:
            raise _Bad(f"response.choices: expected a non-empty list; got {_describe(choices)}")
        choice = choices[0]
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            raise _Bad(f'response.choices[0].message: expected an object; got '
                       f'{_describe(choice.get("message") if isinstance(choice, dict) else choice)}')
        content = message.get("content")
        if content is None or isinstance(content, str):
            return content
        if isinstance(content, list):
            _parts(content, "response.choices[0].message.content")
            return _text(content) if _has_text(content) else None
        raise _Bad(f"response.choices[0].message.content: expected a string, a list of content parts or null; "
                   f"got {_describe(content)}")
    if "content" in resp:  # Anthropic messages
        content = resp["content"]
        if isinstance(content, str):
            return content
        if not isinstance(content, list):
            raise _Bad(f"response.content: expected a list of content blocks; got {_describe(content)}")
        _parts(content, "response.content")
        texts = [b["text"] for b in content if b["type"] == "text"]
        return "".join(texts) if texts else None
    keys = ", ".join(list(resp)[:8]) or "none"
    raise _Bad('response: expected an OpenAI chat completion (with "choices"), an Anthropic message '
               f'(with "content"), or null; got an object with keys: {keys}')


def _source_row(row: dict[str, Any]) -> _Row:
    _check_keys(row, _ROW_KEYS["source"], _ROW_KEY_SETS["source"], "", "a source row")
    req = row["request"]
    if not isinstance(req, dict):
        raise _Bad(f"request: expected the provider request body (an object); got {_describe(req)}")
    model = req.get("model")
    if model is not None and (not isinstance(model, str) or not model):
        raise _Bad(f"request.model: expected a non-empty string; got {_describe(model)}")
    context: list[dict[str, Any]] = []
    system = req.get("system")
    if system is not None:
        if isinstance(system, list):
            _parts(system, "request.system")
        elif not isinstance(system, str):
            raise _Bad(f"request.system: expected a string or a list of text blocks; got {_describe(system)}")
        context.append({"role": "system", "content": system})
    if "messages" not in req:
        raise _Bad('request.messages: missing; expected an OpenAI-style chat request body with a "messages" list')
    context.extend(_messages(req["messages"], "request.messages", raw=True))
    reference = _response_text(row.get("response"))

    outputs = _outputs(row)
    metadata = _metadata(row)
    if model is not None:
        metadata = {**metadata, "source_model": model}
        if reference is not None:
            if outputs.get(model, reference) != reference:
                raise _Bad(f"outputs[{json.dumps(model, ensure_ascii=False)}]: differs from the captured response "
                           f"of that model; remove it (the response is used as that model's output)")
            outputs = {**outputs, model: reference}
    return (_row_id(row), context, reference, outputs, _tools(req.get("tools"), "request.tools"), metadata)


def _simple_row(row: dict[str, Any]) -> _Row:
    _check_keys(row, _ROW_KEYS["simple"], _ROW_KEY_SETS["simple"], "", "a simple row")
    inp = row["input"]
    if isinstance(inp, str):
        if not inp.strip():
            raise _Bad("input: expected a non-empty string or a non-empty list of messages; got an empty string")
        context = [{"role": "user", "content": inp}]
    elif isinstance(inp, list):
        context = _messages(inp, "input")
    else:
        raise _Bad(f"input: expected a string or a non-empty list of messages; got {_describe(inp)}")
    reference = row.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise _Bad(f"reference: expected a string or null; got {_describe(reference)}")
    return (_row_id(row), context, reference, _outputs(row), _tools(row.get("tools"), "tools"), _metadata(row))


_ROW_PARSERS: dict[str, tuple[Format, Callable[[dict[str, Any]], _Row]]] = {
    "messages": ("chat", _chat_row), "request": ("source", _source_row), "input": ("simple", _simple_row)}


def _json_row(row: dict[str, Any]) -> tuple[Format, _Row]:
    for key, (fmt, parse) in _ROW_PARSERS.items():
        if key in row:
            return fmt, parse(row)
    hint = ""
    for k in row:
        close = difflib.get_close_matches(k, _DETECT_KEYS, n=1, cutoff=0.6)
        if close:
            hint = f' (found "{k}": did you mean "{close[0]}"?)'
            break
    keys = ", ".join(f'"{k}"' for k in list(row)[:8]) or "none"
    raise _Bad('unknown row format: expected an object with "messages" (chat), "request" (source) or "input" '
               f"(simple){hint}; got keys: {keys}")


# ----------------------------------------------------------------------------------------------- assembly


def _derived_id(context: list[dict[str, Any]], reference: str | None) -> str:
    blob = json.dumps({"context": context, "reference": reference}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    return "s-" + hashlib.sha256(blob.encode()).hexdigest()[:12]


def _list_errors(errors: list[RowError], limit: int) -> str:
    lines = [f"  {e}" for e in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"  and {len(errors) - limit} more")
    return "\n".join(lines)


class _Builder:
    """Collects samples and row errors in file order; checks format consistency and id uniqueness."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.samples: list[Sample] = []
        self.errors: list[RowError] = []
        self.format: Format | None = None
        self.format_line = 0
        self.explicit: dict[str, int] = {}  # explicit id -> line
        self.pending: list[tuple[int, str]] = []  # (index in samples, base derived id)

    def error(self, line: int, reason: str) -> None:
        self.errors.append(RowError(line, reason, self.source))

    def add(self, line: int, fmt: Format, row: _Row) -> None:
        if self.format is None:
            self.format, self.format_line = fmt, line
        elif fmt != self.format:
            raise DatasetError(f"{self.source}: mixed formats: line {self.format_line} is {self.format}, line {line} "
                               f"is {fmt}; every row must use the same format. Convert the rows to one format or "
                               f"split the file.")
        sid, context, reference, outputs, tools, metadata = row
        if sid is not None:
            first = self.explicit.get(sid)
            if first is not None:
                self.error(line, f'id: duplicate id "{sid}" (first used on line {first}); ids must be unique')
                return
            self.explicit[sid] = line
        try:
            sample = Sample(id=sid or "", context=tuple(Message(**m) for m in context), reference=reference,
                            outputs=outputs, tools=tools, metadata=metadata)
        except ValidationError as exc:  # the checks above should catch everything; keep the row error anyway
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            self.error(line, f"{loc}: {err['msg']}")
            if sid is not None:
                del self.explicit[sid]
            return
        if sid is None:
            self.pending.append((len(self.samples), _derived_id(context, reference)))
        self.samples.append(sample)

    def finish(self, n_lines: int, strict: bool, empty: str = "no rows: the file is empty") -> ParseResult:
        src = self.source
        if not self.samples:
            if not self.errors:
                raise DatasetError(f"{src}: {empty}; add at least one row")
            raise DatasetError(f"{src}: no valid rows: all {len(self.errors)} rows have errors:\n"
                               f"{_list_errors(self.errors, _MAX_LISTED_NO_ROWS)}\n"
                               f"Fix the rows and import again (JSONL rows must be chat, source or simple rows; "
                               f"CSV needs an input column).")
        if strict and self.errors:
            raise DatasetError(f"{src}: {len(self.errors)} invalid row(s), and strict mode allows none:\n"
                               f"{_list_errors(self.errors, _MAX_LISTED)}\n"
                               f"Fix or remove these rows, or import without strict mode to skip them.")
        used = set(self.explicit)
        next_suffix: dict[str, int] = {}
        for index, base in self.pending:
            sid = base
            if sid in used:
                k = next_suffix.get(base, 2)
                while f"{base}-{k}" in used:
                    k += 1
                next_suffix[base] = k + 1
                sid = f"{base}-{k}"
            used.add(sid)
            self.samples[index] = self.samples[index].model_copy(update={"id": sid})
        assert self.format is not None
        return ParseResult(format=self.format, samples=self.samples, errors=self.errors, source=src,
                           n_lines=n_lines)


# ----------------------------------------------------------------------------------------------- entry points


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: parsing allocates many small acyclic objects that survive, and the
    collector's repeated scans of them would otherwise take most of the time on large files."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_lines(lines: Iterable[str], *, source: str, strict: bool = False) -> ParseResult:
    """Parse JSONL lines (chat, source or simple rows). `source` names the file in row errors and messages.

    Blank lines are skipped. Rows that are invalid become `RowError`s (or, with `strict`, fail the import).
    Raises `DatasetError` when no row is valid, when rows use different formats, or in strict mode on any error.
    """
    with _gc_paused():
        return _parse_jsonl(lines, source, strict)


def _parse_jsonl(lines: Iterable[str], source: str, strict: bool) -> ParseResult:
    b = _Builder(source)
    n = 0
    for n, line in enumerate(lines, 1):
        if not line or line.isspace():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            b.error(n, f"invalid JSON: {exc.msg} (column {exc.colno}); each line must be one JSON object")
            continue
        if not isinstance(row, dict):
            b.error(n, f"expected a JSON object; got {_describe(row)}")
            continue
        try:
            fmt, parsed = _json_row(row)
        except _Bad as exc:
            b.error(n, str(exc))
            continue
        b.add(n, fmt, parsed)
    return b.finish(n, strict)


def _output_without_label(name: str) -> str | None:
    if name.startswith("output:") and not name[len("output:"):].strip():
        return f'column "{name}" has no label; name it "output:<label>"'
    return None


def _parse_csv(lines: Iterable[str], source: str, strict: bool) -> ParseResult:
    reader = csv.reader(lines, strict=True)
    records = csv_records(reader, source)
    b = _Builder(source)

    header, header_line = read_header(records, source, check_name=_output_without_label,
                                      empty='no header row: the file is empty; the first line must name the '
                                            'columns, including "input"')
    if "input" not in header:
        close = [h for h in header if h.lower() == "input"] or difflib.get_close_matches("input", header, n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        raise DatasetError(f'{source}:{header_line}: the header has no "input" column{hint}; columns are: '
                           f'{", ".join(header)}. Add an "input" column holding the prompt.')

    i_input = header.index("input")
    i_ref = header.index("reference") if "reference" in header else None
    i_id = header.index("id") if "id" in header else None
    out_cols = [(i, name[len("output:"):].strip()) for i, name in enumerate(header) if name.startswith("output:")]
    special = {i_input, i_ref, i_id, *(i for i, _ in out_cols)}
    meta_cols = [(i, name) for i, name in enumerate(header) if i not in special]
    ncols = len(header)

    for start, rec in records:
        if not any(rec):  # blank line, or a spreadsheet's row of empty cells
            continue
        if len(rec) != ncols:
            b.error(start, f"expected {ncols} fields (one per header column), got {len(rec)}")
            continue
        text = rec[i_input]
        if not text.strip():
            b.error(start, "input: empty; every row needs an input")
            continue
        sid = rec[i_id].strip() if i_id is not None else ""
        reference = rec[i_ref] if i_ref is not None and rec[i_ref] != "" else None
        outputs = {label: rec[i] for i, label in out_cols if rec[i] != ""}
        metadata = {name: rec[i] for i, name in meta_cols}
        b.add(start, "csv", (sid or None, [{"role": "user", "content": text}], reference, outputs, None, metadata))
    return b.finish(reader.line_num, strict, empty="no data rows: the file has only a header")


def parse_file(path: str | Path, *, strict: bool = False) -> ParseResult:
    """Parse a dataset file: CSV when the name ends in ``.csv``, otherwise JSONL (chat, source or simple rows).

    Raises `DatasetError` when the file is missing, unreadable or not UTF-8, has no valid row, mixes formats, or
    (with `strict`) has any invalid row. Otherwise invalid rows are skipped and reported in `ParseResult.errors`.
    """
    def read(lines: Iterator[str], source: str, is_csv: bool) -> ParseResult:
        with _gc_paused():
            return _parse_csv(lines, source, strict) if is_csv else _parse_jsonl(lines, source, strict)

    return read_lines(path, read)
