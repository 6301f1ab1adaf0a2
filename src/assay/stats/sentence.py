"""One plain-English sentence that states the verdict of a paired comparison."""

from __future__ import annotations

import math

from .paired import PairedComparison


def _decimals(cmp: PairedComparison) -> int:
    """Decimals to show, from the CI's half-width h: -floor(log10(h / 2.5)), at least 1, at most 4.

    E.g. h = 0.6 -> 1 decimal (1.8 points), h = 0.17 -> 2 decimals (0.35 points), h = 0.02 -> 3 decimals.
    """
    if cmp.ci_low is None or cmp.ci_high is None:
        return 2
    half = (cmp.ci_high - cmp.ci_low) / 2
    if half <= 0:
        return 2
    return int(min(4, max(1, -math.floor(math.log10(half / 2.5)))))


def _num(x: float, decimals: int) -> str:
    text = f"{x:.{decimals}f}"
    if float(text) == 0:
        text = f"{0.0:.{decimals}f}"  # never "-0.0"
    return text


def format_p(p: float, alpha: float = 0.05) -> str:
    """``p < 0.001``, ``p = 0.003``, ``p = 0.41``; never rounds a significant p up to look like alpha."""
    if p < 0.001:
        return "p < 0.001"
    text = f"{p:.2f}" if p >= 0.1 else f"{p:.3f}"
    if (p < alpha) != (float(text) < alpha):
        text = f"{p:.4f}"
    return f"p = {text}"


def verdict_sentence(model_a: str, model_b: str, cmp: PairedComparison, *, rubric: str, alpha: float = 0.05,
                     adjusted_p: float | None = None, unit: str = "points") -> str:
    """The verdict on ``model_a`` vs ``model_b`` (``cmp`` = paired_difference(a_scores, b_scores)) in one sentence.

    Significant means p < alpha (``adjusted_p`` when given, which is then labelled Holm-adjusted) AND the 95%
    CI excludes zero; otherwise the sentence says the data can't tell the models apart. Examples:

        On accuracy, strong is better than weak by 1.8 points (95% CI 1.2 to 2.4; p < 0.001, Holm-adjusted).
        On tone, the data can't tell strong and weak apart (difference 0.2, 95% CI -0.3 to 0.7; p = 0.41).
    """
    if cmp.n == 0 or cmp.mean_diff is None:
        return f"On {rubric}, there are no paired scores to compare {model_a} and {model_b}."
    if cmp.ci_low is None or cmp.ci_high is None or cmp.p_value is None:
        return (f"On {rubric}, the data can't tell {model_a} and {model_b} apart "
                f"(only {cmp.n} paired sample{'s' if cmp.n != 1 else ''}).")
    p = adjusted_p if adjusted_p is not None else cmp.p_value
    p_text = format_p(p, alpha) + (", Holm-adjusted" if adjusted_p is not None else "")
    dec = _decimals(cmp)
    if cmp.significant(alpha, adjusted_p):
        if cmp.mean_diff > 0:
            better, worse, diff, lo, hi = model_a, model_b, cmp.mean_diff, cmp.ci_low, cmp.ci_high
        else:
            better, worse, diff, lo, hi = model_b, model_a, -cmp.mean_diff, -cmp.ci_high, -cmp.ci_low
        return (f"On {rubric}, {better} is better than {worse} by {_num(diff, dec)} {unit} "
                f"(95% CI {_num(lo, dec)} to {_num(hi, dec)}; {p_text}).")
    return (f"On {rubric}, the data can't tell {model_a} and {model_b} apart "
            f"(difference {_num(cmp.mean_diff, dec)}, 95% CI {_num(cmp.ci_low, dec)} to {_num(cmp.ci_high, dec)}; "
            f"{p_text}).")


__all__ = ["format_p", "verdict_sentence"]
