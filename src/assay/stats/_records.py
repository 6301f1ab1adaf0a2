"""Shared plumbing for the statistics room: the base of every result record and value cleaning.

Records are frozen dataclasses. Their fields hold plain Python values (``float``, ``int``, ``str``, ``None``,
lists and dicts of those), never numpy scalars and never NaN: an undefined statistic is ``None``.
``to_dict()`` returns a structure that ``json.dumps`` accepts and that survives a JSON round trip unchanged
(dict keys become strings, tuples become lists).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

import numpy as np


class Record:
    """Mixin for frozen dataclass result records: adds ``to_dict()``."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


def key_str(k: Any) -> str:
    """A dict key as a JSON object key: integers and integral floats as ``"7"``, other floats via ``repr``."""
    if isinstance(k, str):
        return k
    if isinstance(k, (bool, np.bool_)):
        return "true" if k else "false"
    if isinstance(k, (int, np.integer)):
        return str(int(k))
    if isinstance(k, (float, np.floating)):
        v = float(k)
        if math.isfinite(v) and v.is_integer():
            return str(int(v))
        return repr(v)
    return str(k)


def jsonable(v: Any) -> Any:
    """Convert a value to JSON-safe plain Python (NaN and infinities become None)."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, Record):
        return v.to_dict()
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: jsonable(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, dict):
        return {key_str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [jsonable(x) for x in v]
    return str(v)


def fnum(x: Any) -> float | None:
    """A plain float, or None when x is None, NaN or infinite."""
    if x is None:
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def plain(x: Any) -> Any:
    """A label as a plain Python value (numpy scalars unwrapped, integral floats kept as floats)."""
    if isinstance(x, np.generic):
        return x.item()
    return x


def to_float_array(values: Iterable[Any], *, name: str = "values") -> np.ndarray:
    """A 1-D float array with None mapped to NaN. Raises ValueError on infinities or non-numbers."""
    try:
        if isinstance(values, np.ndarray) and values.dtype != object:
            arr = np.asarray(values, dtype=float)
        else:
            arr = np.array([np.nan if v is None else v for v in values], dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numbers (or None for missing): {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a one-dimensional sequence of numbers")
    if np.isinf(arr).any():
        raise ValueError(f"{name} contains infinite values")
    return arr
