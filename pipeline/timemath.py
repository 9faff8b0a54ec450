"""Sample-exact time maths: seconds <-> samples <-> frames, grids and frame labels.

Every conversion between seconds and sample or frame indices in fakesound goes through
this module, so that all stages agree on which sample a boundary falls on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

Segment = tuple[float, float]

#: FakeSound places region boundaries on a 40 ms grid.
FAKESOUND_GRID_S = 0.04
#: Scoring resolution of FakeSound's detector (500 frames per 10 s clip).
DEFAULT_FRAME_S = 0.02


def _round_half_up(x: float) -> int:
    # A tiny tolerance absorbs binary-float noise such as 8.28 * 32000 = 264959.99999999997.
    return math.floor(x + 0.5 + 1e-9)


def seconds_to_samples(t: float, sample_rate: int) -> int:
    """Index of the sample that starts at time ``t`` (nearest sample, half up)."""
    if t < 0:
        raise ValueError(f"negative time {t!r}")
    return _round_half_up(t * sample_rate)


def samples_to_seconds(n: int, sample_rate: int) -> float:
    """Time in seconds at which sample ``n`` starts."""
    return n / sample_rate


def segment_to_samples(segment: Segment, sample_rate: int) -> tuple[int, int]:
    """Half-open sample span ``[start, stop)`` covered by a segment in seconds."""
    onset, offset = segment
    if offset < onset:
        raise ValueError(f"segment offset before onset: {segment!r}")
    return seconds_to_samples(onset, sample_rate), seconds_to_samples(offset, sample_rate)


def num_frames(duration_s: float, frame_s: float = DEFAULT_FRAME_S) -> int:
    """Number of frames of length ``frame_s`` covering ``duration_s`` (last one may be partial)."""
    return max(0, math.ceil(duration_s / frame_s - 1e-9))


def grid_decimals(grid_s: float) -> int:
    """Decimal places that write every multiple of ``grid_s`` without binary noise (one more than its first)."""
    return max(0, -math.floor(math.log10(grid_s)) + 1)


def snap_to_grid(t: float, grid_s: float = FAKESOUND_GRID_S) -> float:
    """Nearest grid point to ``t``, as a float with no binary noise (e.g. 8.28, not 8.280000001)."""
    steps = _round_half_up(t / grid_s)
    return round(steps * grid_s, grid_decimals(grid_s))


def ceil_to_grid(t: float, grid_s: float = FAKESOUND_GRID_S) -> float:
    """Smallest grid point at or after ``t`` (float noise tolerated), without binary noise."""
    steps = math.ceil(t / grid_s - 1e-6)
    return round(steps * grid_s, grid_decimals(grid_s))


def snap_segment(segment: Segment, grid_s: float = FAKESOUND_GRID_S) -> Segment:
    """Snap both ends of a segment to the grid."""
    return snap_to_grid(segment[0], grid_s), snap_to_grid(segment[1], grid_s)


def is_on_grid(t: float, grid_s: float = FAKESOUND_GRID_S) -> bool:
    """Whether ``t`` lies on the grid (to within float noise)."""
    return abs(t / grid_s - round(t / grid_s)) < 1e-6


def segments_to_frame_labels(
    segments: Iterable[Segment], duration_s: float, frame_s: float = DEFAULT_FRAME_S
) -> np.ndarray:
    """Binary frame labels (float32, 1 = fake) for ``segments`` over a clip of ``duration_s``.

    Frame ``k`` covers ``[k * frame_s, (k + 1) * frame_s)``; it is labelled fake when the
    segment covers at least half of it, so a segment on the frame grid maps exactly.
    """
    n = num_frames(duration_s, frame_s)
    labels = np.zeros(n, dtype=np.float32)
    for onset, offset in segments:
        start = _round_half_up(onset / frame_s)
        stop = _round_half_up(offset / frame_s)
        labels[max(0, start) : min(n, stop)] = 1.0
    return labels


def frame_labels_to_segments(
    labels: Sequence[float] | np.ndarray, frame_s: float = DEFAULT_FRAME_S, threshold: float = 0.5
) -> list[Segment]:
    """Runs of frames above ``threshold`` as segments in seconds (inverse of the above)."""
    active = np.asarray(labels, dtype=np.float64) > threshold
    if not active.any():
        return []
    padded = np.concatenate([[False], active, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [
        (round(float(a) * frame_s, 6), round(float(b) * frame_s, 6))
        for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]


def resample_frame_scores(scores: np.ndarray, src_frame_s: float, dst_frame_s: float, duration_s: float) -> np.ndarray:
    """Map per-frame scores from one resolution to another by sampling each target frame's centre."""
    n_dst = num_frames(duration_s, dst_frame_s)
    if len(scores) == 0:
        return np.zeros(n_dst, dtype=np.float32)
    centres = (np.arange(n_dst) + 0.5) * dst_frame_s
    idx = np.clip((centres / src_frame_s).astype(np.int64), 0, len(scores) - 1)
    return np.asarray(scores, dtype=np.float32)[idx]


def merge_segments(segments: Iterable[Segment], gap_s: float = 0.0) -> list[Segment]:
    """Sort segments and merge those that overlap or are separated by at most ``gap_s``."""
    merged: list[list[float]] = []
    for onset, offset in sorted(segments):
        if merged and onset - merged[-1][1] <= gap_s + 1e-9:
            merged[-1][1] = max(merged[-1][1], offset)
        else:
            merged.append([onset, offset])
    return [(a, b) for a, b in merged]


def changed_segments(changed: np.ndarray, region: Segment, sample_rate: int,
                     cell_s: float = DEFAULT_FRAME_S) -> list[Segment]:
    """The parts of ``region`` to label fake, given which of its samples changed (``changed[i]`` for sample
    ``start + i``): every cell ``[k * cell_s, (k + 1) * cell_s)`` of the clip (clipped to the region) that holds
    at least one changed sample, contiguous cells merged; ``[]`` when nothing changed.

    With ``cell_s`` the scoring frame (20 ms), no labelled frame is identical to the real clip, and a stretch
    identical to it that covers a whole frame is never labelled; shorter identical stretches stay inside a
    label (the frame holding them changed) and changed fragments, however short, keep their frame.
    """
    start, stop = segment_to_samples(region, sample_rate)
    changed = np.asarray(changed, dtype=bool)
    if len(changed) != stop - start:
        raise ValueError(f"{len(changed)} change flags for region {region} of {stop - start} samples")
    idx = np.flatnonzero(changed)
    if idx.size == 0:
        return []
    first_cell = math.floor(region[0] / cell_s + 1e-9)
    last_cell = math.ceil(region[1] / cell_s - 1e-9)
    cells = np.arange(first_cell, last_cell + 1)
    bounds = np.array([min(max(seconds_to_samples(k * cell_s, sample_rate), start), stop) for k in cells])
    hit = np.unique(np.searchsorted(bounds, start + idx, side="right") - 1)
    decimals = max(6, grid_decimals(cell_s))
    runs = np.split(hit, np.flatnonzero(np.diff(hit) > 1) + 1)
    return [(round(max(region[0], float(cells[r[0]]) * cell_s), decimals),
             round(min(region[1], float(cells[r[-1]] + 1) * cell_s), decimals)) for r in runs]
