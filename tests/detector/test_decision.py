"""Length-corrected decisions: the tail fit, the correction, and the false-alarm rate it keeps at any length."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detector.decision import (
    MIN_TAIL_REALS,
    PRIOR_TAIL_SCALE,
    TAIL_QUANTILE,
    fit_tail_scale,
    length_adjusted,
    logit,
    sigmoid,
)


def test_tail_scale_recovers_an_exponential_tail():
    rng = np.random.default_rng(0)
    logits = -2.0 + rng.exponential(0.6, size=20000)  # memoryless: the excess over any quantile has scale 0.6
    scale, used = fit_tail_scale([sigmoid(x) for x in logits])
    assert used == pytest.approx(len(logits) * (1 - TAIL_QUANTILE), abs=2)
    assert scale == pytest.approx(0.6, rel=0.05)


def test_tail_scale_falls_back_to_the_prior_with_few_reals():
    few = [0.1, 0.2, 0.3] * (MIN_TAIL_REALS * 3)  # 90 reals, 9 above the 0.9 quantile
    assert fit_tail_scale(few[: MIN_TAIL_REALS * 9 - 1]) == (PRIOR_TAIL_SCALE, 0)
    assert fit_tail_scale([]) == (PRIOR_TAIL_SCALE, 0)


def test_length_adjusted_is_identity_for_one_window_and_subtracts_scale_ln_k():
    assert length_adjusted(0.83, 1, 0.9) == 0.83
    assert length_adjusted(0.83, 7, 0.0) == 0.83
    got = length_adjusted(0.83, 7, 0.9)
    assert logit(got) == pytest.approx(logit(0.83) - 0.9 * math.log(7))
    assert length_adjusted(0.9, 8, 0.5) < length_adjusted(0.9, 2, 0.5) < 0.9
    with pytest.raises(ValueError, match="at least 1"):
        length_adjusted(0.5, 0, 1.0)


@pytest.mark.parametrize("windows", [1, 3, 10, 30])
def test_the_false_alarm_rate_of_a_one_window_threshold_holds_for_long_files(windows):
    """Real window logits with an exponential-tailed (logistic) distribution, the threshold at their 98th
    percentile: files of many windows, scored by the largest window, are called fake as often as independent
    windows make it (``1 - 0.98 ** windows``) without the correction and at most 2 % (+ sampling noise) with it."""
    rng = np.random.default_rng(windows)
    calibration = rng.logistic(-1.0, 0.8, size=20000)
    scale, _ = fit_tail_scale([sigmoid(x) for x in calibration])
    threshold = float(np.quantile(calibration, 0.98))
    files = rng.logistic(-1.0, 0.8, size=(20000, windows)).max(axis=1)
    plain = float(np.mean(files >= threshold))
    corrected = float(np.mean(files - scale * math.log(windows) >= threshold))
    assert corrected <= 0.02 + 0.004
    if windows > 1:
        assert plain == pytest.approx(1 - 0.98**windows, rel=0.1)
