"""Every record: frozen, plain Python values, JSON-safe to_dict() that survives a JSON round trip."""

import dataclasses
import json

import numpy as np
import pytest

import assay.stats as st


def all_records():
    rng = np.random.default_rng(0)
    a = rng.integers(1, 11, 30).astype(float)
    b = np.clip(a + rng.integers(-2, 3, 30), 1, 10)
    yield st.describe(a, scale=(1, 10))
    yield st.describe([])
    yield st.describe([2.5])
    yield st.paired_difference(a, b)
    yield st.paired_difference([1], [1])
    yield st.rank_models({"x": a, "y": b, "z": [None] * 30})
    yield st.win_rate([1, 0.5, 0, 1])
    yield from st.bradley_terry([("x", "y", 1), ("y", "z", 0.5), ("x", "z", 1)], n_boot=50)
    yield st.length_controlled_win_rate([1, 0, 0.5, 1], [10, -3, 0, 4], n_boot=50)
    yield st.agreement(a, b, kind="ordinal")
    yield st.agreement(["p", "q"], ["p", "p"], kind="nominal")
    yield st.agreement([1.0, 1.0], [1.0, 1.0], kind="continuous")


def walk(value):
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str)
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)
    else:
        yield value


@pytest.mark.parametrize("record", list(all_records()), ids=lambda r: type(r).__name__)
def test_to_dict_is_json_safe_and_round_trips(record):
    d = record.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text) == d
    for leaf in walk(d):
        assert leaf is None or type(leaf) in (bool, int, float, str)


@pytest.mark.parametrize("record", list(all_records()), ids=lambda r: type(r).__name__)
def test_records_are_frozen_and_hold_plain_values(record):
    assert dataclasses.is_dataclass(record)
    field = dataclasses.fields(record)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, field, None)
    for f in dataclasses.fields(record):
        v = getattr(record, f.name)
        assert not isinstance(v, np.generic), f"{type(record).__name__}.{f.name} is a numpy scalar"
        if isinstance(v, float):
            assert v == v, f"{type(record).__name__}.{f.name} is NaN"


def test_public_api_is_exported():
    for name in st.__all__:
        assert hasattr(st, name)
    expected = {"describe", "paired_difference", "holm", "rank_models", "verdict_sentence",
                "min_detectable_difference", "samples_needed", "win_rate", "bradley_terry",
                "length_controlled_win_rate", "agreement", "ScoreSummary", "PairedComparison", "Ranking",
                "WinRate", "BTScore", "LengthControlled", "Agreement"}
    assert expected <= set(st.__all__)
