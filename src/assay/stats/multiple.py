"""Multiple-comparison correction: Holm-Bonferroni adjusted p-values."""

from __future__ import annotations

import math
from collections.abc import Sequence


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given.

    With m p-values sorted ascending, p_(1) <= ... <= p_(m), the adjusted value of the i-th smallest is
    max over j <= i of min(1, (m - j + 1) * p_(j)): monotone in the sorted order and capped at 1. Rejecting
    every hypothesis whose adjusted p is below alpha controls the family-wise error rate at alpha.
    Ties keep their input order. Raises ValueError on values outside [0, 1] or NaN.
    """
    ps = [float(p) for p in p_values]
    for p in ps:
        if math.isnan(p) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p-values must be in [0, 1], got {p}")
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * ps[i]))
        adjusted[i] = running
    return adjusted


__all__ = ["holm"]
