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

``fakesound2`` — FakeSound2's ``scr/inference.py`` + ``scr/utils/eval_util.py`` (``scr/evaluation.py`` re-scores
the per-clip strings ``inference.py`` writes and gives the same numbers), read from zeyuxie29/FakeSound2:

* the same strict ``>`` threshold (sklearn ``binarize``), median filter of window 1 (none), 500 frames of 20 ms
  (the model's input is padded or cut to 10 s and its output cut to 500 frames);
* event times are ``round(k * 0.02, 2)``, written as text and read back, so 0.7 rather than 0.7000000000000001;
* the reference is the metadata's ``onset_offset`` for every clip, reals included: their genuine entries all
  say ``"0-0"``, so a real clip's reference is one ``(0, 0)`` event, as in FakeSound;
* accuracy is any-active-frame against ``fake_type != "genuine"``, rounded to 4 decimals (``cal_accuracy``);
* one score per test set of ``fakesound2_test_filtered.yaml``: each ``.jsonl`` on its own (no reals added: only
  ``genuine.jsonl`` and the FakeSound1 files hold reals) and the unions listed there (``FAKESOUND2_TEST_SETS``),
  which concatenate files, so ids shared between clips are merged per file name by sed_eval.
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
#: FakeSound2's test sets that join several ``.jsonl`` files (``fakesound2_test_filtered.yaml``), by file stem;
#: its other test sets are single files (``generation_inDomain`` is ``generation_affusion.jsonl``, ...).
FAKESOUND2_TEST_SETS = {
    "inpainting_inDomain": ("inpainting_tango2", "inpainting_affusion", "inpainting_ldm2"),
    "inpainting_outDomain": ("inpainting_makeanaudio", "inpainting_fakesound1zeroshot", "inpainting_fakesound1easy",
                             "inpainting_fakesound1hard"),
    "inDomain_all": ("genuine", "inpainting_tango2", "inpainting_affusion", "inpainting_ldm2", "separation_lassnet",
                     "editing_audioeditor", "splicing", "addition", "generation_affusion"),
    "outDomain_all": ("inpainting_makeanaudio", "inpainting_fakesound1zeroshot", "inpainting_fakesound1easy",
                      "inpainting_fakesound1hard", "separation_flowsep", "editing_audit", "generation_x2audio"),
}
Event = tuple[float, float]


def _active_runs(frame_scores: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Runs ``[a, b)`` of frames strictly above ``threshold`` in the first 10 s (scores padded with zeros)."""
    frames = np.zeros(FAKESOUND_FRAMES, dtype=np.float64)
    scores = np.asarray(frame_scores, dtype=np.float64)[:FAKESOUND_FRAMES]
    frames[: len(scores)] = scores
    edges = np.flatnonzero(np.diff(np.concatenate([[False], frames > threshold, [False]]).astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def fakesound_events(frame_scores: np.ndarray, threshold: float = FAKESOUND_THRESHOLD) -> list[Event]:
    """FakeSound's estimated events for one clip: active runs at ``k * 0.02`` s, or ``[(0.0, 0.0)]``."""
    runs = _active_runs(frame_scores, threshold)
    return [(a * DEFAULT_FRAME_S, b * DEFAULT_FRAME_S) for a, b in runs] or [(0.0, 0.0)]


def fakesound2_events(frame_scores: np.ndarray, threshold: float = FAKESOUND_THRESHOLD) -> list[Event]:
    """FakeSound2's estimated events for one clip: active runs at ``round(k * 0.02, 2)`` s, or ``[(0.0, 0.0)]``."""
    runs = _active_runs(frame_scores, threshold)
    return [(round(a * DEFAULT_FRAME_S, 2), round(b * DEFAULT_FRAME_S, 2)) for a, b in runs] or [(0.0, 0.0)]


def _sed_scores(refs: dict[str, list[Event]], ests: dict[str, list[Event]]) -> dict[str, float]:
    """Their ``calculate_sed_metric``: micro F1 of segments at 1 s and 20 ms and events (0.25 s collar), per file."""
    files = list(refs)
    seg1 = M.sum_counts([M.segment_counts(refs[f], ests.get(f, []), 1.0) for f in files])
    seg20 = M.sum_counts([M.segment_counts(refs[f], ests.get(f, []), DEFAULT_FRAME_S) for f in files])
    event = M.sum_counts([M.event_counts(refs[f], ests.get(f, []), 0.25) for f in files])
    return {"seg_f1_1s": M.prf(*seg1)["f1"], "seg_f1_20ms": M.prf(*seg20)["f1"], "event_f1": M.prf(*event)["f1"]}


def _paper_protocol(preds: Sequence[ClipPrediction], events, threshold: float) -> tuple[float, dict[str, float]]:
    """Accuracy (unrounded) and sed scores with ``(0, 0)`` references for reals; clips sharing an id merge."""
    refs: dict[str, list[Event]] = {}
    ests: dict[str, list[Event]] = {}
    correct = 0
    for p in preds:
        estimated = events(p.frame_scores, threshold)
        correct += int((estimated != [(0.0, 0.0)]) == bool(p.label))
        reference = [(float(a), float(b)) for a, b in p.segments] if p.label == 1 else [(0.0, 0.0)]
        refs.setdefault(p.id, []).extend(reference)  # sed_eval filters by file name: duplicates merge
        ests.setdefault(p.id, []).extend(estimated)
    return (correct / len(preds) if preds else float("nan")), _sed_scores(refs, ests)


def fakesound_protocol(preds: Sequence[ClipPrediction], threshold: float = FAKESOUND_THRESHOLD) -> dict[str, float]:
    """FakeSound's numbers for one test file: accuracy, segment F1 at 1 s and 20 ms, event F1."""
    acc, scores = _paper_protocol(preds, fakesound_events, threshold)
    return {"acc": acc, **scores, "n_clips": len(preds)}


def fakesound2_protocol(preds: Sequence[ClipPrediction], threshold: float = FAKESOUND_THRESHOLD) -> dict[str, float]:
    """FakeSound2's numbers for one test set: accuracy (rounded to 4 decimals, as theirs), segment and event F1."""
    acc, scores = _paper_protocol(preds, fakesound2_events, threshold)
    return {"acc": round(acc, 4) if preds else acc, **scores, "n_clips": len(preds)}


def fakesound2_test_sets(files: dict[str, Sequence[ClipPrediction]]) -> dict[str, list[ClipPrediction]]:
    """FakeSound2's grouping of predictions keyed by ``.jsonl`` stem: each file alone, then every union of
    ``FAKESOUND2_TEST_SETS`` whose files are all given (a partial union would not be their number)."""
    sets = {stem: list(preds) for stem, preds in files.items()}
    for name, stems in FAKESOUND2_TEST_SETS.items():
        if all(s in files for s in stems):
            sets[name] = [p for s in stems for p in files[s]]
    return sets


def paper_protocol(protocol: str, preds: Sequence[ClipPrediction]) -> dict[str, float]:
    """The named paper's numbers for one test set."""
    scorers = {"fakesound": fakesound_protocol, "fakesound2": fakesound2_protocol}
    if protocol not in scorers:
        raise ValueError(f"no paper protocol {protocol!r}; known: {', '.join(scorers)}")
    return scorers[protocol](preds)


__all__ = ["FAKESOUND2_TEST_SETS", "PROTOCOLS", "fakesound2_events", "fakesound2_protocol", "fakesound2_test_sets",
           "fakesound_events", "fakesound_protocol", "paper_protocol"]
