"""Inference on audio of any length and rate: windows -> frame and clip probabilities -> fake regions.

Audio longer than the model's window is cut into ``window_s`` windows every ``hop_s`` seconds
(the last one ends at the end of the audio); overlapping frame probabilities are averaged with
weights that fall off towards each window's edges, and the clip score is the largest window score, corrected for
the number of windows (:mod:`detector.decision`) so the stored threshold means the same at any length.

Decisions: a clip is called fake when its score reaches the checkpoint's stored threshold (chosen on the
validation split when it was trained, ``config.json`` → ``decision``, with the tail scale of the length
correction; 0.5 and no correction for checkpoints without one).
Regions are frames above ``FRAME_THRESHOLD`` (FakeSound's 0.5) and are reported only for clips called fake.
Digital silence (no sample reaching one 16-bit step) has nothing to judge: it is answered
``real``, score 0, ``silent: true``, without running the model. Near-silent audio is scored as usual
(the demo corpus trains on clips peaking at -60 to -50 dBFS).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from detector.decision import length_adjusted
from detector.model import DetectorModel, load_model, read_config, resolve_device
from pipeline.audio_io import read_audio
from pipeline.errors import RejectedInput, outcome_exit_code
from pipeline.timemath import (
    DEFAULT_FRAME_S,
    frame_labels_to_segments,
    merge_segments,
    num_frames,
    resample_frame_scores,
)

Region = tuple[float, float, float]  # onset s, offset s, score


@dataclass
class Detection:
    """One file's result: clip score and decision, fake regions, and frame scores at 20 ms."""

    file: str
    score: float
    is_fake: bool
    regions: list[Region]
    duration: float
    frame_scores: np.ndarray = field(repr=False)
    silent: bool = False
    #: model windows the score is the (length-corrected) maximum over
    windows: int = 1

    def to_json(self) -> dict:
        return {
            "file": self.file, "score": round(self.score, 6), "is_fake": self.is_fake,
            "regions": [[on, off, round(s, 6)] for on, off, s in self.regions], "silent": self.silent,
            "windows": self.windows,
        }


#: Reported regions: runs closer than this are joined, shorter ones dropped (a 20 ms blip is not a region).
REPORT_MERGE_GAP_S = 0.1
REPORT_MIN_REGION_S = 0.1
#: Frame decision for regions and FakeSound's any-frame accuracy.
FRAME_THRESHOLD = 0.5
#: Clip threshold for checkpoints that store none.
DEFAULT_THRESHOLD = 0.5
#: Audio whose peak stays below one 16-bit step is digital silence.
SILENCE_PEAK = 1.0 / 32768


def stored_threshold(ckpt_dir: str | Path) -> float:
    """The clip threshold chosen on validation when the checkpoint was trained (``DEFAULT_THRESHOLD`` if none)."""
    decision = read_config(ckpt_dir).get("decision") or {}
    return float(decision.get("threshold", DEFAULT_THRESHOLD))


def stored_tail_scale(ckpt_dir: str | Path) -> float:
    """The length correction's tail scale fitted on validation (0, no correction, for checkpoints without one)."""
    decision = read_config(ckpt_dir).get("decision") or {}
    return float(decision.get("tail_scale", 0.0))


def window_starts(num_samples: int, window: int, hop: int) -> list[int]:
    """Window start samples: every ``hop`` until a window reaches the end (a single window for short audio)."""
    starts = [0]
    while starts[-1] + window < num_samples:
        starts.append(starts[-1] + hop)
    return starts


def _edge_weights(n: int, ramp: int) -> np.ndarray:
    i = np.arange(n)
    return np.clip(np.minimum(i + 1, n - i) / max(1, ramp), 1e-3, 1.0)


def scores_to_regions(
    frame_scores: np.ndarray, threshold: float, duration: float, frame_s: float = DEFAULT_FRAME_S,
    merge_gap_s: float = 0.0, min_region_s: float = 0.0,
) -> list[Region]:
    """Runs of frames above ``threshold`` as ``(onset, offset, max score)``, offsets clipped to ``duration``.

    Runs separated by at most ``merge_gap_s`` are joined, then runs shorter than ``min_region_s`` dropped
    (for reporting; the metrics score the raw frames).
    """
    regions = []
    segments = merge_segments(frame_labels_to_segments(frame_scores, frame_s, threshold), gap_s=merge_gap_s)
    for onset, offset in segments:
        if offset - onset < min_region_s - 1e-9:
            continue
        a, b = round(onset / frame_s), round(offset / frame_s)
        regions.append((onset, min(offset, round(duration, 6)), float(np.max(frame_scores[a:b]))))
    return regions


class Detector:
    """A loaded model plus the decision threshold; call :meth:`detect_file` or :meth:`predict_wave`."""

    def __init__(
        self, model: DetectorModel, threshold: float = DEFAULT_THRESHOLD, device: str | torch.device = "cpu",
        frame_threshold: float = FRAME_THRESHOLD, tail_scale: float = 0.0,
    ):
        self.device = resolve_device(str(device)) if not isinstance(device, torch.device) else device
        self.model = model.to(self.device).eval()
        self.threshold, self.frame_threshold, self.tail_scale = threshold, frame_threshold, float(tail_scale)

    @classmethod
    def from_checkpoint(cls, ckpt_dir: str | Path, threshold: float | None = None, device: str = "auto") -> Detector:
        """Load a checkpoint; ``threshold`` None takes the one stored with it (the length correction always is)."""
        dev = resolve_device(device)
        chosen = stored_threshold(ckpt_dir) if threshold is None else threshold
        return cls(load_model(ckpt_dir, dev), chosen, dev, tail_scale=stored_tail_scale(ckpt_dir))

    @property
    def sample_rate(self) -> int:
        return self.model.sample_rate

    def _window_and_hop(self) -> tuple[int, int]:
        cfg, sr, hop_len = self.model.config, self.sample_rate, round(self.model.frame_s * self.sample_rate)
        return (max(hop_len, round(cfg.window_s * sr) // hop_len * hop_len),
                max(hop_len, round(cfg.hop_s * sr) // hop_len * hop_len))

    def num_windows(self, num_samples: int) -> int:
        """How many model windows ``num_samples`` of audio at the model's rate are scored in."""
        return len(window_starts(num_samples, *self._window_and_hop()))

    def predict_wave(self, wave: np.ndarray) -> tuple[float, np.ndarray]:
        """Clip probability (the largest window's, length-corrected with ``tail_scale``) and frame probabilities at
        the model's own ``frame_s`` for mono ``wave``."""
        windows, frames = self.predict_windows(wave)
        return self.clip_score(windows), frames

    def clip_score(self, window_scores: Sequence[float]) -> float:
        """A file's clip score from its windows' uncorrected scores: the largest, corrected for their number."""
        return length_adjusted(max(window_scores), len(window_scores), self.tail_scale)

    @torch.inference_mode()
    def predict_windows(self, wave: np.ndarray) -> tuple[list[float], np.ndarray]:
        """Each window's clip probability (uncorrected) and the stitched frame probabilities at ``frame_s``."""
        hop_len = round(self.model.frame_s * self.sample_rate)
        window, hop = self._window_and_hop()
        n = len(wave)
        total = self.model.num_frames(n)
        acc, norm = np.zeros(total), np.zeros(total)
        clips = []
        ramp = max(1, (window - hop) // hop_len)
        for start in window_starts(n, window, hop):
            chunk = torch.from_numpy(np.ascontiguousarray(wave[start : start + window], dtype=np.float32))
            frame_logits, clip_logits = self.model(chunk.unsqueeze(0).to(self.device))
            probs = torch.sigmoid(frame_logits[0].float()).cpu().numpy()
            clips.append(float(torch.sigmoid(clip_logits[0].float())))
            first = start // hop_len
            probs = probs[: total - first]
            w = _edge_weights(len(probs), ramp) if n > window else np.ones(len(probs))
            acc[first : first + len(probs)] += w * probs
            norm[first : first + len(probs)] += w
        return clips, (acc / np.maximum(norm, 1e-12)).astype(np.float32)

    def detect_wave(self, wave: np.ndarray, name: str = "<array>") -> Detection:
        """Detection for a mono wave at the model's sample rate."""
        duration = len(wave) / self.sample_rate
        if not np.any(np.abs(wave) >= SILENCE_PEAK):
            frames20 = np.zeros(num_frames(duration, DEFAULT_FRAME_S), dtype=np.float32)
            return Detection(name, 0.0, False, [], duration, frames20, silent=True, windows=self.num_windows(len(wave)))
        window_scores, frames = self.predict_windows(wave)
        clip = self.clip_score(window_scores)
        scores20 = resample_frame_scores(frames, self.model.frame_s, DEFAULT_FRAME_S, duration)
        is_fake = clip >= self.threshold
        regions = scores_to_regions(scores20, self.frame_threshold, duration, merge_gap_s=REPORT_MERGE_GAP_S,
                                    min_region_s=REPORT_MIN_REGION_S) if is_fake else []
        return Detection(file=name, score=clip, is_fake=is_fake, regions=regions, duration=duration,
                         frame_scores=scores20, windows=len(window_scores))

    def detect_file(self, path: str | Path) -> Detection:
        """Read ``path`` at the model's rate (raises :class:`RejectedInput` for bad files) and detect."""
        wave, _ = read_audio(path, sample_rate=self.sample_rate)
        return self.detect_wave(wave, str(path))

    def detect_files(self, paths: Iterable[str | Path]) -> Iterator[Detection | RejectedInput]:
        """Each file's detection, or the one-line error for a file that cannot be used."""
        for path in paths:
            try:
                yield self.detect_file(path)
            except RejectedInput as err:
                yield err


def format_table(detections: Iterable[Detection]) -> str:
    """Human-readable table: file, score, decision, regions."""
    rows = [("file", "score", "decision", "fake regions (onset-offset s @score)")]
    for d in detections:
        regions = ", ".join(f"{a:.2f}-{b:.2f}@{s:.2f}" for a, b, s in d.regions) or "-"
        decision = "FAKE" if d.is_fake else ("real (silent)" if d.silent else "real")
        rows.append((d.file, f"{d.score:.3f}", decision, regions))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        "  ".join([r[0].ljust(widths[0]), r[1].rjust(widths[1]), r[2].ljust(widths[2]), r[3]]) for r in rows
    )


def run_detect(
    paths: Sequence[str | Path], ckpt_dir: str | Path, threshold: float | None = None, as_json: bool = False,
    device: str = "auto", out: TextIO | None = None, err: TextIO | None = None,
) -> int:
    """``fakesound detect``: print each file's result (table or JSON list); bad files get a one-line error
    on ``err`` and the others carry on. Returns the exit code: 0 all read, 3 some failed, 2 none could be read."""
    out, err = out or sys.stdout, err or sys.stderr
    detector = Detector.from_checkpoint(ckpt_dir, threshold=threshold, device=device)
    done, failed = [], 0
    for result in detector.detect_files(paths):
        if isinstance(result, RejectedInput):
            failed += 1
            print(f"error: {result}", file=err)
        else:
            done.append(result)
    if as_json:
        print(json.dumps([d.to_json() for d in done], indent=2), file=out)
    elif done:
        print(format_table(done), file=out)
    return outcome_exit_code(len(done), failed)
