"""Detection metrics in numpy: clip accuracy, EER, ROC AUC, bootstrap CIs.

Segment/event F1 (sed_eval-identical) live in the core, :mod:`pipeline.sed_metrics`, because grounding
is scored with them too; they are re-exported here for the detector's callers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import rankdata

from pipeline.sed_metrics import (
    Counts,
    event_counts,
    event_f1,
    prf,
    segment_counts,
    segment_f1,
    sum_counts,
)

__all__ = [
    "Counts",
    "bootstrap_ci",
    "clip_accuracy_any_frame",
    "det_curve",
    "eer",
    "event_counts",
    "event_f1",
    "prf",
    "roc_auc",
    "segment_counts",
    "segment_f1",
    "sum_counts",
]


def _as_arrays(
    labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    y, s = np.asarray(labels, dtype=np.int64), np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape:
        raise ValueError(f"labels {y.shape} and scores {s.shape} differ in shape")
    return y, s


def det_curve(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> tuple[np.ndarray, ...]:
    """(false-positive rate, false-negative rate, thresholds), deciding fake when ``score >= threshold``.

    Starts at threshold +inf (nothing flagged) and steps through every distinct score, descending.
    """
    y, s = _as_arrays(labels, scores)
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("EER/ROC need both real (0) and fake (1) clips")
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_run = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    tp = np.cumsum(y_sorted == 1)[last_of_run]
    fp = np.cumsum(y_sorted == 0)[last_of_run]
    fpr = np.r_[0.0, fp / n_neg]
    fnr = np.r_[1.0, 1.0 - tp / n_pos]
    return fpr, fnr, np.r_[np.inf, s_sorted[last_of_run]]


def eer(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Equal error rate: where FNR and FPR cross, linearly interpolated between adjacent operating points."""
    fpr, fnr, _ = det_curve(labels, scores)
    diff = fnr - fpr
    i = int(np.argmax(diff <= 0))  # first point with FNR <= FPR (exists: the last point has FNR = 0)
    if i == 0:
        return float(fpr[0])
    alpha = diff[i - 1] / (diff[i - 1] - diff[i])
    return float(fpr[i - 1] + alpha * (fpr[i] - fpr[i - 1]))


def choose_threshold(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, rule: str) -> float:
    """A clip-decision threshold (fake when ``score >= threshold``) from labelled scores.

    ``rule`` is ``"eer"`` (the operating point nearest equal error: smallest max(FPR, FNR)) or ``"fpr:X"`` (the
    most sensitive point whose false-positive rate is at most X). The threshold is placed half-way between that
    point's score and the next lower distinct score, so it does not sit on a validation clip's score.
    """
    fpr, fnr, thr = det_curve(labels, scores)
    if rule == "eer":
        j = int(np.argmin(np.maximum(fpr, fnr)))
    elif rule.startswith("fpr:"):
        target = float(rule[4:])
        j = int(np.flatnonzero(fpr <= target + 1e-12)[-1])
    else:
        raise ValueError(f"threshold rule {rule!r}: use 'eer' or 'fpr:X' (e.g. fpr:0.05)")
    if j == 0:  # even the highest score is to be called real
        return float((thr[1] + 1.0) / 2)
    below = thr[j + 1] if j + 1 < len(thr) else 0.0
    return float((thr[j] + below) / 2)


def roc_auc(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U; ties count one half)."""
    y, s = _as_arrays(labels, scores)
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("EER/ROC need both real (0) and fake (1) clips")
    ranks = rankdata(s)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def clip_accuracy_any_frame(
    labels: Sequence[int], frame_scores: Sequence[np.ndarray], threshold: float = 0.5
) -> float:
    """FakeSound's clip accuracy: a clip is called fake when any frame score exceeds ``threshold``."""
    calls = [bool(np.any(np.asarray(f) > threshold)) for f in frame_scores]
    return float(np.mean([c == bool(y) for c, y in zip(calls, labels, strict=True)]))


def bootstrap_ci(
    statistic: Callable[[np.ndarray], float],
    strata: Sequence[int] | np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap CI of ``statistic(indices)``, resampling items with replacement within each stratum.

    Stratifying by label keeps both classes in every resample; NaN replicates are dropped.
    """
    rng = np.random.default_rng(seed)
    strata = np.asarray(strata)
    groups = [np.flatnonzero(strata == g) for g in np.unique(strata)]
    values = []
    for _ in range(n_boot):
        idx = np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups])
        values.append(statistic(idx))
    values_arr = np.asarray(values, dtype=np.float64)
    values_arr = values_arr[np.isfinite(values_arr)]
    if len(values_arr) == 0:
        return math.nan, math.nan
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(values_arr, [tail, 100 - tail])
    return float(lo), float(hi)
