"""Score a detector on manifest records and compute metrics with bootstrap CIs, overall and per manipulation."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from detector import metrics as M
from detector.decision import fit_tail_scale, length_adjusted
from detector.inference import FRAME_THRESHOLD, Detector, Region
from pipeline.audio_io import read_audio
from pipeline.containment import audio_inside
from pipeline.errors import RejectedInput
from pipeline.manifest import ClipRecord
from pipeline.timemath import DEFAULT_FRAME_S, Segment, frame_labels_to_segments

POINT_METRICS = ("eer", "auc", "acc_clip", "fpr", "fnr", "acc_any_frame", "seg_f1_1s", "seg_f1_20ms", "event_f1")


def json_safe(obj: Any) -> Any:
    """NaN/inf -> None so the output is strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


@dataclass
class ClipPrediction:
    """A record's truth next to the detector's output (frame scores at 20 ms)."""

    id: str
    label: int
    manipulation: str
    split: str
    segments: list[Segment]
    score: float
    regions: list[Region]
    frame_scores: np.ndarray = field(repr=False)
    audio_path: str = ""
    windows: int = 1

    def estimated(self, frame_threshold: float = FRAME_THRESHOLD) -> list[Segment]:
        """Runs of raw 20 ms frames above ``frame_threshold`` (no merging or minimum length: what is scored)."""
        return frame_labels_to_segments(self.frame_scores, DEFAULT_FRAME_S, frame_threshold)


Transform = Callable[[np.ndarray, int, str], np.ndarray]  # (wave, rate, record id) -> wave


def predict_records(
    detector: Detector, records: Sequence[ClipRecord], root: str | Path, progress: bool = False,
    transform: Transform | None = None,
) -> tuple[list[ClipPrediction], list[str]]:
    """Run ``detector`` on each record's audio (through ``transform`` when given, at the model's rate);
    returns predictions and one-line errors for bad files."""
    preds, errors = [], []
    for r in tqdm(records, desc="detect", disable=not progress, leave=False):
        try:
            path = audio_inside(root, r.audio_path, r.id)
            if transform is None:
                d = detector.detect_file(path)
            else:
                wave, rate = read_audio(path, detector.sample_rate)
                d = detector.detect_wave(transform(wave, rate, r.id), str(path))
        except RejectedInput as err:
            errors.append(str(err))
            continue
        preds.append(
            ClipPrediction(
                id=r.id, label=r.label, manipulation=r.manipulation, split=r.split, segments=list(r.segments),
                score=d.score, regions=d.regions, frame_scores=d.frame_scores, audio_path=str(path), windows=d.windows,
            )
        )
    return preds, errors


def _with_ci(value: float, ci: tuple[float, float]) -> dict[str, float]:
    return {"value": value, "ci_low": ci[0], "ci_high": ci[1]}


def compute_metrics(
    preds: Sequence[ClipPrediction], threshold: float = 0.5, n_boot: int = 1000, seed: int = 0,
    frame_threshold: float = FRAME_THRESHOLD,
) -> dict[str, object]:
    """All metrics for a set of predictions, each as ``{value, ci_low, ci_high}`` (95 % stratified bootstrap).

    ``threshold`` decides clips (``acc_clip``, ``fpr`` on reals, ``fnr`` on fakes); ``frame_threshold`` decides
    raw 20 ms frames (FakeSound's any-frame accuracy, segment and event F1 on unmerged frame runs)."""
    labels = np.array([p.label for p in preds], dtype=np.int64)
    scores = np.array([p.score for p in preds], dtype=np.float64)
    any_frame = np.array([bool(np.any(p.frame_scores > frame_threshold)) for p in preds])
    estimated = [p.estimated(frame_threshold) for p in preds]
    pairs = list(zip(preds, estimated, strict=True))
    seg1 = np.array([M.segment_counts(p.segments, e, 1.0) for p, e in pairs]).reshape(-1, 3)
    seg20 = np.array([M.segment_counts(p.segments, e, 0.02) for p, e in pairs]).reshape(-1, 3)
    event = np.array([M.event_counts(p.segments, e, 0.25) for p, e in pairs]).reshape(-1, 3)
    both = len(set(labels.tolist())) == 2
    called = scores >= threshold

    stats = {
        "eer": (lambda i: M.eer(labels[i], scores[i])) if both else None,
        "auc": (lambda i: M.roc_auc(labels[i], scores[i])) if both else None,
        "acc_any_frame": lambda i: float(np.mean(any_frame[i] == labels[i].astype(bool))),
        "acc_clip": lambda i: float(np.mean(called[i] == labels[i].astype(bool))),
        "fpr": (lambda i: float(np.mean(called[i][labels[i] == 0]))) if (labels == 0).any() else None,
        "fnr": (lambda i: float(np.mean(~called[i][labels[i] == 1]))) if (labels == 1).any() else None,
        "seg_f1_1s": lambda i: M.prf(*seg1[i].sum(axis=0))["f1"],
        "seg_f1_20ms": lambda i: M.prf(*seg20[i].sum(axis=0))["f1"],
        "event_f1": lambda i: M.prf(*event[i].sum(axis=0))["f1"],
    }
    out: dict[str, object] = {"n_clips": len(preds), "n_fake": int(labels.sum()), "n_real": int((labels == 0).sum())}
    everything = np.arange(len(preds))
    for k, (name, fn) in enumerate(stats.items()):
        if fn is None or len(preds) == 0:
            out[name] = _with_ci(math.nan, (math.nan, math.nan))
            continue
        ci = M.bootstrap_ci(fn, labels, n_boot=n_boot, seed=seed + k) if n_boot > 0 else (math.nan, math.nan)
        out[name] = _with_ci(fn(everything), ci)
    out["seg_1s"] = M.prf(*seg1.sum(axis=0))
    out["seg_20ms"] = M.prf(*seg20.sum(axis=0))
    out["event"] = M.prf(*event.sum(axis=0))
    return out


def metrics_by_group(
    preds: Sequence[ClipPrediction], threshold: float = 0.5, n_boot: int = 1000, seed: int = 0,
    frame_threshold: float = FRAME_THRESHOLD,
) -> dict[str, dict[str, object]]:
    """``{"all": ..., "<manipulation>": ...}``; a manipulation's group is its fakes plus every real clip."""
    groups = {"all": list(preds)}
    reals = [p for p in preds if p.label == 0]
    for m in sorted({p.manipulation for p in preds if p.label == 1}):
        groups[m] = [p for p in preds if p.label == 1 and p.manipulation == m] + reals
    return {name: compute_metrics(g, threshold, n_boot, seed, frame_threshold) for name, g in groups.items()}


def decide_threshold(preds: Sequence[ClipPrediction], rule: str) -> dict[str, Any]:
    """The decision on ``preds`` (validation, scored without a length correction): the tail scale of the real
    scores (:func:`detector.decision.fit_tail_scale`), then the clip threshold ``rule`` picks on the
    length-corrected scores, with the error rates it gives there."""
    labels = np.array([p.label for p in preds], dtype=np.int64)
    if len(set(labels.tolist())) < 2:
        raise ValueError("choosing a threshold needs real and fake validation clips")
    tail_scale, tail_n = fit_tail_scale([p.score for p in preds if p.label == 0])
    scores = np.array([length_adjusted(p.score, p.windows, tail_scale) for p in preds], dtype=np.float64)
    t = M.choose_threshold(labels, scores, rule)
    called = scores >= t
    return {"threshold": t, "rule": rule, "val_fpr": float(np.mean(called[labels == 0])),
            "val_fnr": float(np.mean(~called[labels == 1])), "n_val_real": int((labels == 0).sum()),
            "n_val_fake": int(labels.sum()), "tail_scale": tail_scale, "tail_n": tail_n}


def selection_score(m: dict[str, object]) -> float:
    """Checkpoint-selection value on validation (higher is better): mean of (1 - EER) and segment F1 at 1 s."""
    eer_v = m["eer"]["value"]  # type: ignore[index]
    f1 = m["seg_f1_1s"]["value"]  # type: ignore[index]
    eer_term = 0.0 if math.isnan(eer_v) else 1.0 - eer_v
    f1_term = 0.0 if math.isnan(f1) else f1
    return 0.5 * (eer_term + f1_term)
