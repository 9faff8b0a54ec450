"""Shortcut probes: how far a corpus can be solved without looking at the manipulation itself.

* **Global-statistics probe**: eight clip statistics (RMS, peak, DC, high-band energy above 4 and 8 kHz,
  zero-crossing rate, share of exact-zero samples, largest sample step relative to the RMS) and a logistic
  regression. A low EER means fakes differ from reals in level, bandwidth or encoding, not in content.
* **Boundary-only probe**: click features from ``BOUNDARY_MS`` either side of each fake region edge (the
  largest sample step within 1 ms of the edge relative to the clip's 99th-percentile step and to the median
  step around it, and the step at the edge sample) against the same features at the paired real clip's same
  instants (its fake's edges: the grounded event edges are there too), or at seeded random instants for reals
  without a fake partner. A low EER means a discontinuity at the seams gives fakes away.

Both are scored by source-grouped cross-validation (a source's real clip and its fakes are always in the same
fold), so a probe cannot memorise recordings. A probe EER below ``FLAG_EER`` flags the corpus as solvable by a
shortcut. Pure numpy (an L2-regularised logistic regression fitted by Newton's method).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from detector import metrics as M
from pipeline.audio_io import read_audio
from pipeline.errors import RejectedInput
from pipeline.manifest import ClipRecord

BOUNDARY_MS = 5.0
FLAG_EER = 0.45
FOLDS = 5
GLOBAL_FEATURES = ("rms_db", "peak_db", "dc", "hf4k_ratio_db", "hf8k_ratio_db", "zcr", "zero_share", "max_step_rel")
BOUNDARY_FEATURES = ("step_rel", "step_local", "step_at_edge")


def _db(x: float) -> float:
    return 10.0 * math.log10(max(x, 1e-12))


def global_statistics(audio: np.ndarray, rate: int) -> np.ndarray:
    """The eight clip statistics of :data:`GLOBAL_FEATURES`."""
    x = np.asarray(audio, dtype=np.float64)
    power = float(np.mean(x**2)) if len(x) else 0.0
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / rate)
    total = float(spectrum.sum()) + 1e-20
    steps = np.abs(np.diff(x))
    return np.array([
        _db(power), _db(float(np.max(np.abs(x))) ** 2 if len(x) else 0.0), float(np.mean(x)) if len(x) else 0.0,
        _db(float(spectrum[freqs > 4000].sum()) / total), _db(float(spectrum[freqs > 8000].sum()) / total),
        float(np.mean(np.signbit(x[1:]) != np.signbit(x[:-1]))) if len(x) > 1 else 0.0,
        float(np.mean(x == 0.0)), float(steps.max() / math.sqrt(power)) if power > 0 and len(steps) else 0.0,
    ])


def _edge_features(x: np.ndarray, rate: int, t: float, step_ref: float) -> np.ndarray:
    half = max(2, round(BOUNDARY_MS / 1000 * rate))
    core = max(1, round(0.001 * rate))
    i = min(max(round(t * rate), half + 1), len(x) - half - 1)
    steps = np.abs(np.diff(x[i - half : i + half]))
    core_steps = steps[half - core : half + core]
    context = np.concatenate([steps[: half - core], steps[half + core :]])
    return np.array([
        float(core_steps.max()) / step_ref,
        float(core_steps.max()) / (float(np.median(context)) + 1e-9),
        abs(float(x[i] - x[i - 1])) / step_ref,
    ])


def boundary_features(audio: np.ndarray, rate: int, instants: Sequence[float]) -> np.ndarray:
    """:data:`BOUNDARY_FEATURES` at each instant; the clip's row is their element-wise max (a seam shows at
    either edge)."""
    x = np.asarray(audio, dtype=np.float64)
    steps = np.abs(np.diff(x))
    step_ref = float(np.percentile(steps, 99)) + 1e-9 if len(steps) else 1.0
    if len(x) < 4 * max(2, round(BOUNDARY_MS / 1000 * rate)) or not instants:
        return np.zeros(len(BOUNDARY_FEATURES))
    rows = np.stack([_edge_features(x, rate, t, step_ref) for t in instants])
    return rows.max(axis=0)


def _instants(record: ClipRecord, partner: ClipRecord | None, duration: float) -> list[float]:
    """Edges of a fake's regions; for a real clip its fake partner's edges, else two seeded instants."""
    segments = record.segments if record.label == 1 else (partner.segments if partner is not None else [])
    edges = [t for seg in segments for t in seg if 0 < t < duration]
    if edges:
        return edges
    digest = hashlib.sha256(record.id.encode()).digest()
    rng = np.random.default_rng(np.frombuffer(digest[:16], dtype=np.uint32))
    return sorted(rng.uniform(0.5, max(0.6, duration - 0.5), size=2).tolist())


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, iterations: int = 50) -> np.ndarray:
    """Weights (bias last) of an L2-regularised logistic regression on standardised ``x`` (Newton's method)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = l2 * np.eye(xb.shape[1])
    reg[-1, -1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + reg @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + reg + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w


def grouped_cv_scores(
    features: np.ndarray, labels: np.ndarray, groups: Sequence[str], folds: int = FOLDS
) -> np.ndarray:
    """Out-of-fold probabilities; folds assigned by a hash of the group (source) id."""
    fold_of = np.array([int(hashlib.sha256(g.encode()).hexdigest(), 16) % folds for g in groups])
    scores = np.full(len(labels), np.nan)
    for k in range(folds):
        test, train = fold_of == k, fold_of != k
        if not test.any() or len(set(labels[train].tolist())) < 2:
            continue
        mu, sd = features[train].mean(axis=0), features[train].std(axis=0) + 1e-9
        w = fit_logistic((features[train] - mu) / sd, labels[train].astype(np.float64))
        z = np.hstack([(features[test] - mu) / sd, np.ones((int(test.sum()), 1))]) @ w
        scores[test] = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    return scores


def _eer_or_nan(labels: np.ndarray, scores: np.ndarray) -> float:
    ok = ~np.isnan(scores)
    if len(set(labels[ok].tolist())) < 2:
        return math.nan
    return M.eer(labels[ok], scores[ok])


def run_probes(records: Sequence[ClipRecord], root: str | Path) -> dict[str, dict]:
    """Both probes on ``records``: EER overall and per manipulation (fakes of a type + all reals)."""
    partners = {r.source_id: r for r in records if r.label == 1}
    feats_g, feats_b, kept = [], [], []
    for r in records:
        try:
            audio, rate = read_audio(r.resolve_audio(root))
        except RejectedInput:
            continue
        duration = len(audio) / rate
        feats_g.append(global_statistics(audio, rate))
        feats_b.append(boundary_features(audio, rate, _instants(r, partners.get(r.source_id or r.id), duration)))
        kept.append(r)
    labels = np.array([r.label for r in kept], dtype=np.int64)
    groups = [r.source_id or r.id for r in kept]
    out: dict[str, dict] = {}
    for name, feats in (("global-statistics", feats_g), ("boundary", feats_b)):
        if len(set(labels.tolist())) < 2:
            continue
        scores = grouped_cv_scores(np.array(feats), labels, groups)
        per = {"all": _eer_or_nan(labels, scores)}
        for m in sorted({r.manipulation for r in kept if r.label == 1}):
            pick = np.array([r.label == 0 or r.manipulation == m for r in kept])
            per[m] = _eer_or_nan(labels[pick], scores[pick])
        flagged = any(v < FLAG_EER for v in per.values() if not math.isnan(v))
        out[name] = {"eer": per, "n": len(kept), "flagged": flagged}
    return out


__all__ = ["FLAG_EER", "boundary_features", "global_statistics", "grouped_cv_scores", "run_probes"]
