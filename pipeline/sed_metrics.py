"""Sound-event detection metrics (sed_eval-identical segment and event F1), shared by every stage that scores segments.

Segment-based F1 reproduces ``sed_eval.sound_event.SegmentBasedMetrics`` (0.2.1) as FakeSound calls it:
file by file, no evaluated length (a file spans up to its last reference or estimated offset),
segment ``[floor(onset / res), ceil(offset / res))``, counts summed over files. Event-based F1
reproduces ``EventBasedMetrics(t_collar=0.25)`` with its defaults: onset *and* offset are checked
(offset within ``max(collar, 0.5 * reference length)``) and events are matched optimally
(maximum bipartite matching). Precision/recall are NaN when their denominator is zero, like sed_eval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from pipeline.timemath import Segment

Counts = tuple[int, int, int]  # (true positives, system count, reference count)


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
