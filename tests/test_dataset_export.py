"""Exporting samples as chat, source and simple rows, and re-importing them unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.dataset import Message, Sample, export_rows, parse_file, parse_lines
from assay.errors import DatasetError

DATA = Path(__file__).parent / "data" / "datasets"
FIXTURES = ["chat.jsonl", "source.jsonl", "simple.jsonl", "multiline.csv"]


def reimport(samples: list[Sample], fmt: str) -> list[Sample]:
    lines = [json.dumps(row, ensure_ascii=False) for row in export_rows(samples, format=fmt)]
    result = parse_lines(lines, source=f"export.{fmt}.jsonl")
    assert result.errors == []
    assert result.format == fmt
    return result.samples


def key(s: Sample) -> tuple:
    return s.id, s.context, s.reference


@pytest.mark.parametrize("fixture", FIXTURES)
@pytest.mark.parametrize("fmt", ["chat", "source", "simple"])
def test_round_trip_keeps_ids_context_and_reference(fixture: str, fmt: str) -> None:
    original = parse_file(DATA / fixture).samples
    again = reimport(original, fmt)
    assert [key(s) for s in again] == [key(s) for s in original]
    assert [s.tools for s in again] == [s.tools for s in original]


@pytest.mark.parametrize("fixture", FIXTURES)
def test_simple_round_trip_is_lossless(fixture: str) -> None:
    original = parse_file(DATA / fixture).samples
    assert reimport(original, "simple") == original


@pytest.mark.parametrize("fixture", ["chat.jsonl", "simple.jsonl", "multiline.csv"])
def test_chat_round_trip_is_lossless_for_chat_representable_samples(fixture: str) -> None:
    original = parse_file(DATA / fixture).samples
    assert reimport(original, "chat") == original


def test_source_round_trip_is_lossless_for_source_samples() -> None:
    original = parse_file(DATA / "source.jsonl").samples
    assert reimport(original, "source") == original


def test_derived_ids_survive_a_round_trip() -> None:
    rows = [json.dumps({"input": "q", "reference": "a"})] * 3
    original = parse_lines(rows, source="t").samples
    ids = [s.id for s in original]
    assert len(set(ids)) == 3
    for fmt in ("chat", "source", "simple"):
        assert [s.id for s in reimport(original, fmt)] == ids


SAMPLE = Sample(
    id="s1",
    context=(Message(role="system", content="Be brief."), Message(role="user", content="Hi")),
    reference="Hello",
    outputs={"m1": "Hey"},
    tools=[{"type": "function", "function": {"name": "f"}}],
    metadata={"source_model": "gpt-x", "topic": "greeting"},
)


def test_chat_row_shape() -> None:
    (row,) = export_rows([SAMPLE], format="chat")
    assert row == {
        "id": "s1",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                     {"role": "assistant", "content": "Hello"}],
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "metadata": {"source_model": "gpt-x", "topic": "greeting"},
        "outputs": {"m1": "Hey"},
    }
    bare = Sample(id="b", context=(Message(role="user", content="q"),))
    assert list(export_rows([bare], format="chat")) == [{"id": "b", "messages": [{"role": "user", "content": "q"}]}]


def test_source_row_shape() -> None:
    (row,) = export_rows([SAMPLE], format="source")
    assert row["id"] == "s1"
    assert row["request"] == {"model": "gpt-x", "messages": [{"role": "system", "content": "Be brief."},
                                                             {"role": "user", "content": "Hi"}],
                              "tools": [{"type": "function", "function": {"name": "f"}}]}
    assert row["response"] == {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"},
                                            "finish_reason": "stop"}]}
    assert row["metadata"] == {"source_model": "gpt-x", "topic": "greeting"}
    assert row["outputs"] == {"m1": "Hey"}
    (again,) = reimport([SAMPLE], "source")
    assert key(again) == key(SAMPLE)
    assert again.outputs == {"m1": "Hey", "gpt-x": "Hello"}  # the response is the source model's output

    bare = Sample(id="b", context=(Message(role="user", content="q"),))
    (row,) = export_rows([bare], format="source")
    assert row == {"id": "b", "request": {"messages": [{"role": "user", "content": "q"}]}, "response": None}
    (again,) = reimport([bare], "source")
    assert again.outputs == {} and "source_model" not in again.metadata and again == bare  # a true round trip


def test_simple_row_shape() -> None:
    (row,) = export_rows([SAMPLE], format="simple")
    assert row["input"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert row["reference"] == "Hello"
    single = Sample(id="one", context=(Message(role="user", content="q"),))
    assert list(export_rows([single], format="simple")) == [{"id": "one", "input": "q", "reference": None}]


def test_export_is_lazy_and_rejects_unknown_formats() -> None:
    rows = export_rows(iter([SAMPLE, SAMPLE]), format="simple")
    assert next(rows)["id"] == "s1"
    with pytest.raises(DatasetError, match="unknown export format 'yaml'"):
        export_rows([SAMPLE], format="yaml")  # type: ignore[arg-type]


def test_rows_are_json_serializable() -> None:
    for fmt in ("chat", "source", "simple"):
        for row in export_rows(parse_file(DATA / "chat.jsonl").samples, format=fmt):
            assert json.loads(json.dumps(row)) == row
