"""Frame probabilities of a phrase -> the segments where it sounds, as the TAG evaluation decides them.

As in the upstream TAG evaluation: frames are binarised at ``threshold`` (a frame is on when its
probability is strictly above it), the binary sequence is median-filtered over ``median_window``
frames (odd; 1 leaves it as is, the upstream default; edges reflect), and each run of on-frames is a
segment from its first frame's start to its last frame's end. Segments end at the clip's end at the
latest (the last frame may reach past it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter

from pipeline.errors import ConfigError
from pipeline.timemath import Segment, frame_labels_to_segments


@dataclass(frozen=True)
class SegmentRule:
    """Decision rule from frame probabilities to segments; defaults are the upstream evaluation's."""

    threshold: float = 0.5
    median_window: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold < 1.0:
            raise ConfigError(f"threshold must lie in [0, 1), got {self.threshold!r}")
        if self.median_window < 1 or self.median_window % 2 == 0:
            raise ConfigError(f"median_window must be a positive odd number of frames, got {self.median_window!r}")


def active_frames(probabilities: np.ndarray, rule: SegmentRule) -> np.ndarray:
    """Binary (0/1) activity per frame after thresholding and median filtering."""
    on = (np.asarray(probabilities, dtype=np.float64) > rule.threshold).astype(np.int8)
    if rule.median_window > 1 and len(on):
        on = median_filter(on, size=rule.median_window, mode="reflect")
    return on


def probabilities_to_segments(
    probabilities: np.ndarray, frame_s: float, duration_s: float, rule: SegmentRule
) -> list[Segment]:
    """Segments (seconds) where the phrase is decided to sound."""
    segments = frame_labels_to_segments(active_frames(probabilities, rule), frame_s=frame_s)
    clipped = [(onset, min(offset, round(duration_s, 6))) for onset, offset in segments]
    return [(onset, offset) for onset, offset in clipped if offset > onset]


def phrase_score(probabilities: np.ndarray) -> float:
    """Confidence that the phrase sounds at all in the clip: its highest frame probability."""
    return float(np.max(probabilities)) if len(probabilities) else 0.0
