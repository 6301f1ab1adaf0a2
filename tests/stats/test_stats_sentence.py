"""verdict_sentence(): the exact wording for the significant, not-significant and disagreeing cases."""

import dataclasses

from assay.stats import PairedComparison, format_p, paired_difference, verdict_sentence


def cmp(mean_diff, lo, hi, p, n=100):
    return PairedComparison(n=n, mean_a=5 + mean_diff, mean_b=5.0, mean_diff=mean_diff, sd_diff=1.0, ci_low=lo,
                            ci_high=hi, ci_method="bootstrap BCa (t-expanded), 10000 resamples", p_value=p,
                            test="paired permutation test (sign-flip), 10000 resamples", effect_size=mean_diff,
                            effect_size_name="d_z", wins=50, ties=10, losses=40, mde=0.3, n_needed=None)


def test_significant_with_holm():
    s = verdict_sentence("strong", "weak", cmp(1.8, 1.2, 2.4, 0.0001), rubric="accuracy", adjusted_p=0.0003)
    assert s == "On accuracy, strong is better than weak by 1.8 points (95% CI 1.2 to 2.4; p < 0.001, Holm-adjusted)."


def test_not_significant():
    s = verdict_sentence("strong", "weak", cmp(0.2, -0.3, 0.7, 0.41), rubric="tone")
    assert s == "On tone, the data can't tell strong and weak apart (difference 0.2, 95% CI -0.3 to 0.7; p = 0.41)."


def test_b_better_flips_direction_and_interval():
    s = verdict_sentence("a", "b", cmp(-0.35, -0.52, -0.18, 0.003), rubric="safety")
    assert s == "On safety, b is better than a by 0.35 points (95% CI 0.18 to 0.52; p = 0.003)."


def test_adjusted_p_can_remove_significance():
    s = verdict_sentence("a", "b", cmp(0.5, 0.1, 0.9, 0.02), rubric="x", adjusted_p=0.06)
    assert s == "On x, the data can't tell a and b apart (difference 0.5, 95% CI 0.1 to 0.9; p = 0.060, Holm-adjusted)."


def test_disagreeing_p_and_ci_reported_as_cant_tell_apart():
    s = verdict_sentence("a", "b", cmp(0.4, -0.01, 0.81, 0.04), rubric="x")
    assert s.startswith("On x, the data can't tell a and b apart")


def test_p_formatting_never_rounds_across_alpha():
    assert format_p(0.0496) == "p = 0.0496"
    assert format_p(0.0004) == "p < 0.001"
    assert format_p(0.2345) == "p = 0.23"
    assert format_p(0.051) == "p = 0.051"


def test_degenerate_inputs():
    empty = paired_difference([], [])
    assert verdict_sentence("a", "b", empty, rubric="x") == "On x, there are no paired scores to compare a and b."
    one = paired_difference([3], [1])
    assert (verdict_sentence("a", "b", one, rubric="x")
            == "On x, the data can't tell a and b apart (only 1 paired sample).")
    zero = dataclasses.replace(cmp(0.0, -0.2, 0.2, 1.0))
    assert "can't tell" in verdict_sentence("a", "b", zero, rubric="x")


def test_real_comparison_roundtrip():
    a = [8, 9, 7, 8, 9, 8, 7, 9, 8, 8, 9, 7, 8, 9, 8]
    b = [6, 7, 6, 5, 7, 6, 6, 7, 5, 6, 7, 6, 6, 5, 7]
    s = verdict_sentence("strong", "weak", paired_difference(a, b), rubric="accuracy")
    assert s.startswith("On accuracy, strong is better than weak by 2.")
    assert s.endswith("p < 0.001).")
