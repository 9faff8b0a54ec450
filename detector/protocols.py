"""Evaluation protocols of the papers, reproduced with their quirks so numbers can be compared with theirs.

``fakesound`` — FakeSound's ``inference.py`` + ``calculate_sed_metric`` (read from FakeSoundData/FakeSound):

* frames decided with a strict ``>`` threshold (0.5), no post-processing (their median filter has window 1);
  the model sees the clip padded or cut to 10 s, so only the first 500 frames of 20 ms count;
* a clip is called fake when any frame is above the threshold (accuracy over clips);
* estimated events are the runs of active frames at ``k * 0.02`` s (unrounded floats); a clip with no active
  frame gets one ``(0.0, 0.0)`` estimate; a real clip's reference is one ``(0.0, 0.0)`` event;
* sed_eval ``SegmentBasedMetrics`` at 1 s and 0.02 s and ``EventBasedMetrics`` (0.25 s collar, offsets
  checked with sed_eval's default 50 % of the reference length), evaluated per unique file name of one test
  file, so clips sharing an id are merged; the overall (micro) F-measure is reported.

Consequences of the quirks: a real clip with no detection adds a true-positive *event* (its ``(0, 0)`` estimate
matches its ``(0, 0)`` reference); a missed fake adds a false-positive event; zero-length events add nothing to
the segment-based counts. Our own protocol (``detector.evaluate``) scores no events for reals and none for
silence, and decides clips with the clip score at a validation-chosen threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from detector import metrics as M
from detector.config import PROTOCOLS
from detector.evaluate import ClipPrediction
from pipeline.timemath import DEFAULT_FRAME_S

FAKESOUND_FRAMES = 500  # 10 s of 20 ms frames
FAKESOUND_THRESHOLD = 0.5


def fakesound_events(frame_scores: np.ndarray, threshold: float = FAKESOUND_THRESHOLD) -> list[tuple[float, float]]:
    """FakeSound's estimated events for one clip: active runs at ``k * 0.02`` s, or ``[(0.0, 0.0)]``."""
    frames = np.zeros(FAKESOUND_FRAMES, dtype=np.float64)
    scores = np.asarray(frame_scores, dtype=np.float64)[:FAKESOUND_FRAMES]
    frames[: len(scores)] = scores
    active = frames > threshold
    if not active.any():
        return [(0.0, 0.0)]
    edges = np.flatnonzero(np.diff(np.concatenate([[False], active, [False]]).astype(np.int8)))
    return [(int(a) * DEFAULT_FRAME_S, int(b) * DEFAULT_FRAME_S) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def fakesound_protocol(preds: Sequence[ClipPrediction], threshold: float = FAKESOUND_THRESHOLD) -> dict[str, float]:
    """FakeSound's numbers for one test file: accuracy, segment F1 at 1 s and 20 ms, event F1."""
    refs: dict[str, list[tuple[float, float]]] = {}
    ests: dict[str, list[tuple[float, float]]] = {}
    correct = 0
    for p in preds:
        estimated = fakesound_events(p.frame_scores, threshold)
        called = estimated != [(0.0, 0.0)]
        correct += int(called == bool(p.label))
        reference = [(float(a), float(b)) for a, b in p.segments] if p.label == 1 else [(0.0, 0.0)]
        refs.setdefault(p.id, []).extend(reference)  # sed_eval filters by file name: duplicates merge
        ests.setdefault(p.id, []).extend(estimated)
    files = list(refs)
    seg1 = M.sum_counts([M.segment_counts(refs[f], ests[f], 1.0) for f in files])
    seg20 = M.sum_counts([M.segment_counts(refs[f], ests[f], DEFAULT_FRAME_S) for f in files])
    event = M.sum_counts([M.event_counts(refs[f], ests[f], 0.25) for f in files])
    return {"acc": correct / len(preds) if preds else float("nan"), "seg_f1_1s": M.prf(*seg1)["f1"],
            "seg_f1_20ms": M.prf(*seg20)["f1"], "event_f1": M.prf(*event)["f1"], "n_clips": len(preds)}


__all__ = ["PROTOCOLS", "fakesound_events", "fakesound_protocol"]
