"""Detection metrics in numpy: clip accuracy, EER, ROC AUC, segment/event F1 (sed_eval-identical), bootstrap CIs.

Segment-based F1 reproduces ``sed_eval.sound_event.SegmentBasedMetrics`` (0.2.1) as FakeSound calls it:
file by file, no evaluated length (a file spans up to its last reference or estimated offset),
segment ``[floor(onset / res), ceil(offset / res))``, counts summed over files. Event-based F1
reproduces ``EventBasedMetrics(t_collar=0.25)`` with its defaults: onset *and* offset are checked
(offset within ``max(collar, 0.5 * reference length)``) and events are matched optimally
(maximum bipartite matching). Precision/recall are NaN when their denominator is zero, like sed_eval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import rankdata

from pipeline.timemath import Segment

Counts = tuple[int, int, int]  # (true positives, system count, reference count)


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


def prf(ntp: float, nsys: float, nref: float) -> dict[str, float]:
    """Precision, recall and F1 from counts, with sed_eval's NaN conventions."""
    precision = math.nan if nsys == 0 else float(ntp / float(nsys))
    recall = math.nan if nref == 0 else float(ntp / float(nref))
    f1 = 0.0 if precision == 0 and recall == 0 else float(2 * precision * recall / (precision + recall))
    return {"f1": f1, "precision": precision, "recall": recall}


def _activity(segments: Sequence[Segment], resolution: float, length: int) -> np.ndarray:
    roll = np.zeros(length, dtype=bool)
    for onset, offset in segments:
        roll[math.floor(onset * 1 / float(resolution)) : math.ceil(offset * 1 / float(resolution))] = True
    return roll


def segment_counts(reference: Sequence[Segment], estimated: Sequence[Segment], resolution: float) -> Counts:
    """Segment-based (Ntp, Nsys, Nref) of one file at ``resolution`` seconds."""
    max_offset = max([0.0, *(float(b) for _, b in reference), *(float(b) for _, b in estimated)])
    length = math.ceil(max_offset * 1 / float(resolution))
    ref, est = _activity(reference, resolution, length), _activity(estimated, resolution, length)
    return int(np.sum(ref & est)), int(np.sum(est)), int(np.sum(ref))


def _max_matching(hits: np.ndarray) -> int:
    """Size of a maximum bipartite matching in a boolean ``(n_ref, n_est)`` matrix (augmenting paths)."""
    match_of_ref = [-1] * hits.shape[0]

    def augment(e: int, seen: set[int]) -> bool:
        for r in np.flatnonzero(hits[:, e]):
            if r not in seen:
                seen.add(r)
                if match_of_ref[r] == -1 or augment(match_of_ref[r], seen):
                    match_of_ref[r] = e
                    return True
        return False

    return sum(augment(e, set()) for e in range(hits.shape[1]))


def event_counts(
    reference: Sequence[Segment],
    estimated: Sequence[Segment],
    t_collar: float = 0.25,
    evaluate_offset: bool = True,
    percentage_of_length: float = 0.5,
) -> Counts:
    """Event-based (Ntp, Nsys, Nref) of one file: onset within ``t_collar``, offset as sed_eval checks it."""
    ref = np.asarray(reference, dtype=np.float64).reshape(-1, 2)
    est = np.asarray(estimated, dtype=np.float64).reshape(-1, 2)
    hits = np.abs(ref[:, None, 0] - est[None, :, 0]) <= t_collar
    if evaluate_offset:
        tolerance = np.maximum(t_collar, percentage_of_length * (ref[:, 1] - ref[:, 0]))
        hits &= np.abs(ref[:, None, 1] - est[None, :, 1]) <= tolerance[:, None]
    return _max_matching(hits), len(est), len(ref)


def sum_counts(counts: Sequence[Counts]) -> Counts:
    arr = np.asarray(counts, dtype=np.int64).reshape(-1, 3)
    return int(arr[:, 0].sum()), int(arr[:, 1].sum()), int(arr[:, 2].sum())


def segment_f1(
    references: Sequence[Sequence[Segment]], estimates: Sequence[Sequence[Segment]], resolution: float
) -> dict[str, float]:
    """Overall segment-based P/R/F1 over files (lists aligned by file)."""
    counts = [segment_counts(r, e, resolution) for r, e in zip(references, estimates, strict=True)]
    return prf(*sum_counts(counts))


def event_f1(
    references: Sequence[Sequence[Segment]], estimates: Sequence[Sequence[Segment]], t_collar: float = 0.25,
    evaluate_offset: bool = True,
) -> dict[str, float]:
    """Overall event-based P/R/F1 over files (lists aligned by file)."""
    counts = [event_counts(r, e, t_collar, evaluate_offset) for r, e in zip(references, estimates, strict=True)]
    return prf(*sum_counts(counts))


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
