"""Parsing dataset files into samples: every format, detection, row errors and their line numbers, file errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.dataset import Message, ParseResult, RowError, Sample, content_hash, parse_file, parse_lines
from assay.errors import DatasetError

DATA = Path(__file__).parent / "data" / "datasets"


def lines(*rows: object) -> list[str]:
    """JSONL lines: dicts are serialized, strings are taken as they are."""
    return [r if isinstance(r, str) else json.dumps(r) for r in rows]


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def assistant(text: str | None, **extra: object) -> dict:
    return {"role": "assistant", "content": text, **extra}


GOOD_CHAT = {"messages": [user("hi"), assistant("hello")]}


def only_error(result: ParseResult) -> RowError:
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


# ----------------------------------------------------------------------------------------------- chat


def test_chat_fixture() -> None:
    r = parse_file(DATA / "chat.jsonl")
    assert r.format == "chat"
    assert r.errors == []
    assert r.n_lines == 4
    assert r.source.endswith("chat.jsonl")
    greet, weather, image = r.samples

    assert greet.id == "greet"
    assert [m.role for m in greet.context] == ["system", "user"]
    assert greet.reference == "Hi."
    assert greet.metadata == {"topic": "smalltalk"}

    assert weather.id == "7"  # integer ids become strings
    assert [m.role for m in weather.context] == ["user", "assistant", "tool"]
    assert weather.context[1].content is None and weather.context[1].tool_calls
    assert weather.context[2].tool_call_id == "call_1"
    assert weather.reference == "18C and sunny."  # text of a content-part list
    assert weather.tools and weather.tools[0]["function"]["name"] == "weather"
    assert weather.outputs == {"old-model": "It is sunny."}

    assert image.reference is None  # no assistant turn: valid, no reference
    assert image.id.startswith("s-") and len(image.id) == 14
    assert isinstance(image.context[0].content, list)


def test_chat_reference_is_last_assistant_turn_with_text() -> None:
    call = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    r = parse_lines(lines(
        # trailing tool-call-only assistant turn: dropped; the earlier assistant text is the reference
        {"messages": [user("q"), assistant("let me check"), assistant(None, tool_calls=call)]},
        # only a tool-call turn: no reference, and that turn is not part of the context
        {"messages": [user("q2"), assistant(None, tool_calls=call)]},
        # a user turn after the last assistant text: a prefix to be answered, nothing dropped
        {"messages": [user("a"), assistant("b"), user("c")]},
        # an empty string is text
        {"messages": [user("q3"), assistant("")]},
    ), source="t.jsonl")
    assert r.errors == []
    s1, s2, s3, s4 = r.samples
    assert (s1.reference, [m.text() for m in s1.context]) == ("let me check", ["q"])
    assert (s2.reference, [m.text() for m in s2.context]) == (None, ["q2"])
    assert (s3.reference, [m.text() for m in s3.context]) == (None, ["a", "b", "c"])
    assert s4.reference == ""


@pytest.mark.parametrize("row, reason", [
    ({"messages": [{"role": "bot", "content": "x"}]},
     'messages[0].role: expected one of system, user, assistant, tool; got "bot"'),
    ({"messages": [user("q"), {"role": "tool", "content": "42"}]}, "messages[1].tool_call_id: missing"),
    ({"messages": [{"role": "user", "content": 5}]},
     "messages[0].content: expected a string or a list of content parts; got a number (5)"),
    ({"messages": [{"role": "user", "content": ["hi"]}]}, 'messages[0].content[0]: expected a content part'),
    ({"messages": [{"role": "user"}]}, "messages[0].content: missing"),
    ({"messages": [user("q"), assistant(None)]}, "messages[1].content: null"),
    ({"messages": [user("q"), {"role": "user", "content": "x", "tool_calls": []}]},
     "messages[1].tool_calls: only assistant messages"),
    ({"messages": [assistant("orphan")]}, "messages: the context is empty"),
    ({"messages": []}, "messages: expected a non-empty list of messages; got an empty list"),
    ({"messages": "hi"}, "messages: expected a non-empty list"),
    ({**GOOD_CHAT, "outputs": {"m": 3}}, 'outputs["m"]: expected a string; got a number (3)'),
    ({**GOOD_CHAT, "outputs": ["x"]}, "outputs: expected an object"),
    ({**GOOD_CHAT, "metadata": "x"}, 'metadata: expected an object; got "x"'),
    ({**GOOD_CHAT, "id": 1.5}, "id: expected a string or an integer; got a number (1.5)"),
    ({**GOOD_CHAT, "tools": {"a": 1}}, "tools: expected a list"),
    ({**GOOD_CHAT, "refrence": "x"}, 'unexpected key "refrence"'),
    ({"messages": [{"role": "user", "content": "x", "weight": 1}]}, 'messages[0]: unexpected key "weight"'),
])
def test_chat_row_errors(row: dict, reason: str) -> None:
    r = parse_lines(lines(GOOD_CHAT, row), source="t.jsonl")
    err = only_error(r)
    assert err.line == 2
    assert reason in err.reason, err.reason
    assert len(r.samples) == 1


def test_unknown_key_suggests_the_likely_one() -> None:
    r = parse_lines(lines({"input": "q", "refrence": "a"}, {"input": "ok"}), source="t.jsonl")
    assert 'unexpected key "refrence" (did you mean "reference"?)' in only_error(r).reason


def test_unknown_keys_inside_metadata_are_fine() -> None:
    r = parse_lines(lines({"input": "q", "metadata": {"refrence": 1, "anything": {"nested": True}}}), source="t")
    assert r.errors == [] and r.samples[0].metadata["refrence"] == 1


# ----------------------------------------------------------------------------------------------- source


def test_source_fixture() -> None:
    r = parse_file(DATA / "source.jsonl")
    assert r.format == "source" and r.errors == []
    oa, an, pending = r.samples

    assert [(m.role, m.content) for m in oa.context] == [("system", "Answer in French."), ("user", "Hello")]
    assert oa.reference == "Bonjour"
    assert oa.outputs == {"gpt-4o-mini": "Bonjour"}
    assert oa.metadata == {"ticket": 42, "source_model": "gpt-4o-mini"}

    assert [(m.role, m.content) for m in an.context] == [("system", "Be brief."), ("user", "Name a prime.")]
    assert an.reference == "Seven."
    assert an.outputs == {"claude-3-5-haiku": "Seven."}

    assert pending.reference is None and pending.outputs == {}
    assert pending.metadata == {"source_model": "gpt-4o-mini"}
    assert pending.tools == [{"type": "function", "function": {"name": "lookup"}}]


def test_source_tool_call_response_has_no_reference() -> None:
    response = {"choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": [{}]}}]}
    r = parse_lines(lines({"request": {"model": "m", "messages": [user("q")]}, "response": response}), source="t")
    assert r.samples[0].reference is None and r.samples[0].outputs == {}


@pytest.mark.parametrize("row, reason", [
    ({"request": {"model": "m", "messages": [{"role": "bot", "content": "x"}]}, "response": None},
     'request.messages[0].role: expected one of system, user, assistant, tool; got "bot"'),
    ({"request": {"model": "m"}, "response": None}, "request.messages: missing"),
    ({"request": "raw", "response": None}, "request: expected the provider request body"),
    ({"request": {"model": 3, "messages": [user("q")]}}, "request.model: expected a non-empty string"),
    ({"request": {"model": "m", "messages": [user("q")]}, "response": {"output": []}},
     'response: expected an OpenAI chat completion (with "choices")'),
    ({"request": {"model": "m", "messages": [user("q")]}, "response": {"choices": []}},
     "response.choices: expected a non-empty list"),
    ({"request": {"model": "m", "messages": [user("q")]}, "response": None, "extra": 1}, 'unexpected key "extra"'),
    ({"request": {"model": "m", "messages": [user("q")]}, "response": {"choices": [{"message": {"content": "a"}}]},
      "outputs": {"m": "b"}}, 'outputs["m"]: differs from the captured response'),
])
def test_source_row_errors(row: dict, reason: str) -> None:
    good = {"request": {"model": "m", "messages": [user("q")]}, "response": None}
    r = parse_lines(lines(good, row), source="t.jsonl")
    err = only_error(r)
    assert err.line == 2 and reason in err.reason, err.reason


# ----------------------------------------------------------------------------------------------- simple


def test_simple_fixture() -> None:
    r = parse_file(DATA / "simple.jsonl")
    assert r.format == "simple" and r.errors == [] and r.n_lines == 4
    arith, multi, open_q = r.samples
    assert arith.context == (Message(role="user", content="What is 2+2?"),)
    assert arith.reference == "4"
    assert multi.id == "multi" and [m.role for m in multi.context] == ["system", "user"]
    assert multi.reference is None and multi.outputs == {"a": "Hello!", "b": "Hey."}
    assert open_q.reference is None and open_q.metadata == {"difficulty": "hard", "tags": ["x"]}


@pytest.mark.parametrize("row, reason", [
    ({"input": 3}, "input: expected a string or a non-empty list of messages; got a number (3)"),
    ({"input": ""}, "input: expected a non-empty string"),
    ({"input": []}, "input: expected a non-empty list of messages; got an empty list"),
    ({"input": [{"role": "user", "content": "x"}, {"role": "robot", "content": "y"}]},
     'input[1].role: expected one of system, user, assistant, tool; got "robot"'),
    ({"input": "q", "reference": 4}, "reference: expected a string or null; got a number (4)"),
    ({"input": "q", "outputs": {"m": None}}, 'outputs["m"]: expected a string; got null'),
])
def test_simple_row_errors(row: dict, reason: str) -> None:
    r = parse_lines(lines({"input": "ok"}, row), source="t.jsonl")
    err = only_error(r)
    assert err.line == 2 and reason in err.reason, err.reason


# ----------------------------------------------------------------------------------------------- detection & lines


def test_detection_by_key() -> None:
    assert parse_lines(lines(GOOD_CHAT), source="t").format == "chat"
    assert parse_lines(lines({"request": {"messages": [user("q")]}}), source="t").format == "source"
    assert parse_lines(lines({"input": "q"}), source="t").format == "simple"


def test_row_in_no_format_is_an_error() -> None:
    r = parse_lines(lines({"input": "q"}, {"inputs": "q"}, {"prompt": "q"}), source="t")
    e1, e2 = r.errors
    assert (e1.line, e2.line) == (2, 3)
    assert 'unknown row format: expected an object with "messages" (chat), "request" (source) or "input"' in e1.reason
    assert 'did you mean "input"?' in e1.reason
    assert '"prompt"' in e2.reason


def test_bad_json_and_non_objects_are_row_errors_with_line_numbers() -> None:
    r = parse_lines(["", json.dumps(GOOD_CHAT), "{not json", "  ", "[1, 2]", '"text"', json.dumps(GOOD_CHAT)],
                    source="data.jsonl")
    assert [e.line for e in r.errors] == [3, 5, 6]
    assert r.errors[0].reason.startswith("invalid JSON:")
    assert r.errors[1].reason == "expected a JSON object; got a list"
    assert r.errors[2].reason == 'expected a JSON object; got "text"'
    assert str(r.errors[1]) == "data.jsonl:5: expected a JSON object; got a list"
    assert len(r.samples) == 2 and r.n_lines == 7


def test_blank_lines_are_skipped_silently() -> None:
    r = parse_lines(["\n", json.dumps(GOOD_CHAT) + "\n", "   \n", "\r\n", json.dumps({**GOOD_CHAT, "id": "b"})],
                    source="t")
    assert r.errors == [] and len(r.samples) == 2 and r.n_lines == 5


def test_mixed_formats_fail_the_whole_file() -> None:
    with pytest.raises(DatasetError) as exc:
        parse_file(DATA / "mixed.jsonl")
    msg = str(exc.value)
    assert "mixed.jsonl" in msg
    assert "mixed formats: line 1 is chat, line 3 is simple; every row must use the same format" in msg


def test_format_comes_from_first_valid_line() -> None:
    # line 1 is an invalid simple row (a row error), line 2 a valid chat row: the file is chat
    r = parse_lines(lines({"input": 5}, GOOD_CHAT, {**GOOD_CHAT, "id": "x"}), source="t")
    assert r.format == "chat" and [e.line for e in r.errors] == [1]
    # an invalid row of another format is just a row error, not a mix
    r = parse_lines(lines(GOOD_CHAT, {"input": 5}), source="t")
    assert r.format == "chat" and [e.line for e in r.errors] == [2]
    with pytest.raises(DatasetError, match="line 2 is chat, line 4 is source"):
        parse_lines(lines({"input": 5}, GOOD_CHAT, "", {"request": {"messages": [user("q")]}}), source="t")


def test_duplicate_explicit_ids_are_errors_on_the_later_line() -> None:
    r = parse_lines(lines({"id": "a", "input": "1"}, {"id": "b", "input": "2"}, {"id": "a", "input": "3"},
                          {"id": 1, "input": "4"}, {"id": "1", "input": "5"}), source="t")
    assert [(e.line, e.reason) for e in r.errors] == [
        (3, 'id: duplicate id "a" (first used on line 1); ids must be unique'),
        (5, 'id: duplicate id "1" (first used on line 4); ids must be unique'),
    ]
    assert [s.id for s in r.samples] == ["a", "b", "1"]
    assert r.samples[0].context[0].content == "1"  # the first row keeps the id


# ----------------------------------------------------------------------------------------------- file-level errors


def test_strict_mode_fails_on_any_row_error() -> None:
    rows = lines(GOOD_CHAT, *[{"input": i} for i in range(13)])
    assert len(parse_lines(rows, source="big.jsonl").errors) == 13
    with pytest.raises(DatasetError) as exc:
        parse_lines(rows, source="big.jsonl", strict=True)
    msg = str(exc.value)
    assert msg.startswith("big.jsonl: 13 invalid row(s)")
    assert "big.jsonl:2: input: expected a string" in msg
    assert "big.jsonl:11:" in msg and "big.jsonl:12:" not in msg
    assert "and 3 more" in msg
    assert "without strict mode" in msg
    # strict with a clean file is fine
    assert len(parse_lines(lines(GOOD_CHAT), source="t", strict=True).samples) == 1


def test_strict_parse_file(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps(GOOD_CHAT) + "\n{oops\n")
    assert len(parse_file(p).errors) == 1
    with pytest.raises(DatasetError, match=r"d.jsonl:2: invalid JSON"):
        parse_file(p, strict=True)


def test_no_valid_rows() -> None:
    with pytest.raises(DatasetError) as exc:
        parse_lines(["{", "[]", json.dumps({"input": 1})], source="bad.jsonl")
    msg = str(exc.value)
    assert "bad.jsonl: no valid rows" in msg
    assert "bad.jsonl:1: invalid JSON" in msg and "bad.jsonl:3: input:" in msg


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.jsonl"
    p.write_text("\n  \n")
    with pytest.raises(DatasetError, match="empty.jsonl: no rows: the file is empty"):
        parse_file(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="nope.jsonl: no such file"):
        parse_file(tmp_path / "nope.jsonl")
    with pytest.raises(DatasetError, match="is a directory"):
        parse_file(tmp_path)


def test_non_utf8_file(tmp_path: Path) -> None:
    p = tmp_path / "latin1.jsonl"
    p.write_bytes(json.dumps(GOOD_CHAT).encode() + b"\n" + '{"input": "café"}\n'.encode("latin-1"))
    with pytest.raises(DatasetError) as exc:
        parse_file(p)
    assert "latin1.jsonl:2: not valid UTF-8" in str(exc.value)
    assert "re-save the file with UTF-8" in str(exc.value)
    q = tmp_path / "latin1.csv"
    q.write_bytes("input\ncafé\n".encode("latin-1"))
    with pytest.raises(DatasetError, match="latin1.csv:2: not valid UTF-8"):
        parse_file(q)


def test_utf8_bom_and_crlf(tmp_path: Path) -> None:
    p = tmp_path / "bom.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps({"input": "caf\u00e9"}, ensure_ascii=False).encode() + b"\r\n")
    r = parse_file(p)
    assert r.errors == [] and r.samples[0].context[0].content == "caf\u00e9"


# ----------------------------------------------------------------------------------------------- csv


def test_csv_fixture_with_multiline_cells_and_outputs() -> None:
    r = parse_file(DATA / "multiline.csv")
    assert r.format == "csv" and r.errors == [] and r.n_lines == 7
    q1, q2, q3 = r.samples
    assert q1.id == "q1"
    assert q1.context == (Message(role="user", content="First line\r\nsecond line, with comma"),)
    assert q1.reference == "expected one"
    assert q1.outputs == {"gpt-4o": 'out "quoted"'}  # empty output cell: no output for that label
    assert q1.metadata == {"category": "math"}
    assert q2.reference is None  # empty reference cell
    assert q2.outputs == {"gpt-4o": "answer two", "local": "local\nanswer"}
    assert q2.metadata == {"category": ""}
    assert q3.context[0].content == 'Third "quoted" input' and q3.reference == "ref three"


def test_csv_row_errors_report_the_line_where_the_record_starts(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_text('input,reference\n"multi\nline",a\n,b\n"ok",c,extra\n"fine",\n', newline="")
    r = parse_file(p)
    assert [(e.line, e.reason) for e in r.errors] == [
        (4, "input: empty; every row needs an input"),
        (5, "expected 2 fields (one per header column), got 3"),
    ]
    assert [s.context[0].content for s in r.samples] == ["multi\nline", "fine"]
    assert str(r.errors[0]).endswith("d.csv:4: input: empty; every row needs an input")


def test_csv_derived_and_duplicate_ids(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_text("id,input\n,same\n,same\nx,one\nx,two\n", newline="")
    r = parse_file(p)
    a, b, x = r.samples
    assert a.id.startswith("s-") and b.id == a.id + "-2" and x.id == "x"
    assert [(e.line, e.reason[:20]) for e in r.errors] == [(5, 'id: duplicate id "x"')]


@pytest.mark.parametrize("content, message", [
    ("", "no header row"),
    ("question,reference\nq,a\n", 'the header has no "input" column'),
    ("Input,reference\nq,a\n", 'did you mean "Input"?'),
    ("input,input\nq,a\n", 'names column "input" twice'),
    (",input\n0,q\n", "header column 1 has no name"),
    ("input,output:\nq,a\n", "has no label"),
    ('input,reference\n"never closed,a\nmore\n', "d.csv:2: malformed CSV: a quoted cell is never closed"),
    ("input\n", "no data rows"),
])
def test_csv_file_errors(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "d.csv"
    p.write_text(content, newline="")
    with pytest.raises(DatasetError, match=message):
        parse_file(p)


def test_csv_extension_is_case_insensitive_and_others_are_jsonl(tmp_path: Path) -> None:
    p = tmp_path / "D.CSV"
    p.write_text("input\nq\n")
    assert parse_file(p).format == "csv"
    q = tmp_path / "d.txt"
    q.write_text(json.dumps({"input": "q"}))
    assert parse_file(q).format == "simple"


# ----------------------------------------------------------------------------------------------- ids & hashes


def test_derived_ids_are_stable_and_suffixed_deterministically() -> None:
    rows = lines({"input": "q", "reference": "a"}, {"input": "other"}, {"input": "q", "reference": "a"},
                 {"input": "q", "reference": "a"})
    ids = [s.id for s in parse_lines(rows, source="t").samples]
    assert ids == [s.id for s in parse_lines(rows, source="other-name").samples]
    base = ids[0]
    assert ids[2:] == [base + "-2", base + "-3"] and ids[1] != base
    # the same content in another format gets the same id (it depends on context and reference only)
    chat = parse_lines(lines({"messages": [user("q"), assistant("a")], "metadata": {"x": 1}}), source="t")
    assert chat.samples[0].id == base
    # an explicit id anywhere in the file wins; the derived id takes the next free suffix
    r = parse_lines(lines({"input": "q", "reference": "a"}, {"id": base, "input": "z"}), source="t")
    assert [s.id for s in r.samples] == [base + "-2", base]


def test_content_hash_is_stable_and_sensitive(tmp_path: Path) -> None:
    rows = lines({"input": "q1", "reference": "a1"}, {"input": "q2", "reference": "a2"})
    h1 = content_hash(parse_lines(rows, source="a").samples)
    h2 = content_hash(parse_lines(list(rows), source="b").samples)
    p = tmp_path / "d.jsonl"
    p.write_text("\n".join(rows) + "\n")
    assert h1 == h2 == content_hash(parse_file(p).samples)
    changed = lines({"input": "q1", "reference": "a1"}, {"input": "q2", "reference": "a2!"})
    assert content_hash(parse_lines(changed, source="a").samples) != h1


def test_row_error_str() -> None:
    assert str(RowError(3, "bad", "x.jsonl")) == "x.jsonl:3: bad"


def test_samples_are_sample_records() -> None:
    r = parse_lines(lines(GOOD_CHAT), source="t")
    assert isinstance(r.samples[0], Sample)


def test_large_file_parses_whole(tmp_path: Path) -> None:
    """100,000 rows parse with distinct ids and no errors (their speed is measured in benchmarks/, not here)."""
    p = tmp_path / "big.jsonl"
    with open(p, "w") as f:
        for i in range(100_000):
            f.write(json.dumps({"messages": [{"role": "system", "content": "Be brief."}, user(f"question {i}"),
                                             assistant(f"answer {i}")], "metadata": {"i": i}}) + "\n")
    r = parse_file(p)
    assert len(r.samples) == 100_000 and r.errors == []
    assert len({s.id for s in r.samples}) == 100_000
