"""Clip decisions that mean the same at any length: a window threshold corrected for the number of windows.

A file longer than the model's window is scored window by window and its clip score is the largest window's. The
stored threshold is chosen on validation clips of one window each, so on a file of ``k`` windows the plain maximum
gives a real recording about ``k`` chances to cross it (the README's *Decisions at any length* has the measurement:
long real recordings were called fake several times as often as their 10 s windows). The correction treats each
window as one test (Bonferroni): a file is called fake when its largest window logit, less ``tail_scale * ln k``,
reaches the stored threshold's logit. With the upper tail of real window logits exponential with scale
``tail_scale`` (fitted on the validation reals), a window crosses ``t + tail_scale * ln k`` with probability
``p / k`` when it crosses ``t`` with ``p``, so the chance that any of ``k`` windows does stays at most ``p``. One
window (every clip of ``window_s`` or less) is unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: The tail is fitted on the real validation logits above this quantile ...
TAIL_QUANTILE = 0.9
#: ... when at least this many lie above it; otherwise ``PRIOR_TAIL_SCALE`` is used.
MIN_TAIL_REALS = 10
#: The upper tail of a logistic distribution is exponential with scale 1: the scale assumed without enough reals.
PRIOR_TAIL_SCALE = 1.0
_CLAMP = 1e-12


def logit(p: float) -> float:
    """``ln(p / (1 - p))``, finite for ``p`` in [0, 1]."""
    p = min(max(float(p), _CLAMP), 1.0 - _CLAMP)
    return math.log(p / (1.0 - p))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def fit_tail_scale(real_scores: Sequence[float] | np.ndarray) -> tuple[float, int]:
    """(scale, reals used): the exponential scale of the real logits above their ``TAIL_QUANTILE`` (the mean
    excess, its maximum-likelihood estimate); ``(PRIOR_TAIL_SCALE, 0)`` with fewer than ``MIN_TAIL_REALS`` there."""
    logits = np.array([logit(s) for s in real_scores], dtype=np.float64)
    if len(logits) == 0:
        return PRIOR_TAIL_SCALE, 0
    start = np.quantile(logits, TAIL_QUANTILE)
    excess = logits[logits > start] - start
    if len(excess) < MIN_TAIL_REALS:
        return PRIOR_TAIL_SCALE, 0
    return float(excess.mean()), len(excess)


def length_adjusted(score: float, windows: int, tail_scale: float) -> float:
    """The clip score of a file whose largest window score is ``score`` over ``windows`` windows, on the scale of
    a one-window clip: ``sigmoid(logit(score) - tail_scale * ln windows)``; ``score`` itself for one window."""
    if windows < 1:
        raise ValueError(f"windows must be at least 1, got {windows}")
    if windows == 1 or tail_scale == 0.0:
        return float(score)
    return sigmoid(logit(score) - tail_scale * math.log(windows))


__all__ = ["MIN_TAIL_REALS", "PRIOR_TAIL_SCALE", "TAIL_QUANTILE", "fit_tail_scale", "length_adjusted", "logit",
           "sigmoid"]
