"""Figures for benchmarks: DET + ROC curves, and spectrograms with true vs predicted fake regions (matplotlib Agg)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy import signal
from scipy.stats import norm

from detector.evaluate import ClipPrediction
from detector.metrics import det_curve, eer, roc_auc
from pipeline.atomic import atomic_path
from pipeline.audio_io import read_audio
from pipeline.timemath import DEFAULT_FRAME_S

DET_TICKS = [0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 0.95]


def _save(fig, path: Path, dpi: int = 100) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return path


def plot_det_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path) -> Path:
    """``curves``: name -> (labels, scores). Left: DET (normal-deviate axes, 0.1-95 % so weak models stay in
    view) with each curve's EER marked; right: ROC. Legends carry EER and AUC."""
    fig, (ax_det, ax_roc) = plt.subplots(1, 2, figsize=(11, 4.8))
    clip = 1e-3
    for name, (labels, scores) in curves.items():
        fpr, fnr, _ = det_curve(labels, scores)
        rate, auc = eer(labels, scores), roc_auc(labels, scores)
        label = f"{name} (EER {100 * rate:.1f} %, AUC {auc:.3f})"
        (line,) = ax_det.plot(norm.ppf(np.clip(fpr, clip, 1 - clip)), norm.ppf(np.clip(fnr, clip, 1 - clip)),
                              label=label)
        at = norm.ppf(np.clip(rate, clip, 1 - clip))
        ax_det.plot([at], [at], "o", color=line.get_color(), ms=6, mfc="none")
        ax_roc.plot(fpr, 1 - fnr, label=label)
    ax_det.plot(norm.ppf([clip, 0.95]), norm.ppf([clip, 0.95]), ":", color="grey", lw=0.8)  # EER line
    ticks = norm.ppf(DET_TICKS)
    for set_ticks in (ax_det.set_xticks, ax_det.set_yticks):
        set_ticks(ticks, [f"{100 * t:g}" for t in DET_TICKS])
    ax_det.set(xlabel="false alarm rate (%)", ylabel="miss rate (%)", title="DET (circles: EER)")
    ax_det.set_xlim(norm.ppf(clip), norm.ppf(0.95))
    ax_det.set_ylim(norm.ppf(clip), norm.ppf(0.95))
    ax_roc.plot([0, 1], [0, 1], ":", color="grey")
    ax_roc.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    for ax in (ax_det, ax_roc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right" if ax is ax_det else "lower right")
    return _save(fig, Path(path))


def plot_localisation(preds: Sequence[ClipPrediction], path: str | Path, threshold: float = 0.5) -> Path:
    """One row per clip: log spectrogram, true regions (green), frame runs above ``threshold`` (red), frame score
    curve. Kept small (9 x 1.7 in per clip at 80 dpi)."""
    fig, axes = plt.subplots(len(preds), 1, figsize=(9, 1.7 * len(preds)), squeeze=False)
    for ax, p in zip(axes[:, 0], preds, strict=True):
        wave, sr = read_audio(p.audio_path)
        f, t, spec = signal.spectrogram(wave, fs=sr, nperseg=512, noverlap=384)
        ax.pcolormesh(t, f / 1000, 10 * np.log10(spec + 1e-10), shading="auto", cmap="magma")
        ax.set_ylabel("kHz")
        for a, b in p.segments:
            ax.axvspan(a, b, ymin=0.9, ymax=1.0, color="lime", alpha=0.9)
        for a, b in p.estimated(threshold):
            ax.axvspan(a, b, ymin=0.8, ymax=0.9, color="red", alpha=0.9)
        twin = ax.twinx()
        times = (np.arange(len(p.frame_scores)) + 0.5) * DEFAULT_FRAME_S
        twin.plot(times, p.frame_scores, color="white", lw=1)
        twin.axhline(threshold, color="white", ls=":", lw=0.8)
        twin.set_ylim(0, 1.05)
        twin.set_ylabel("p(fake)")
        kind = "real" if p.label == 0 else p.manipulation
        ax.set_title(f"{p.id}  [{kind}]  score {p.score:.2f}  (green: true, red: frames > {threshold})", fontsize=8)
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    return _save(fig, Path(path), dpi=80)
