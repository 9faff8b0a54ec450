"""Frame probabilities -> segments: threshold, median filter, 40 ms frames, clip end."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage

from grounding.frames import SegmentRule, active_frames, phrase_score, probabilities_to_segments


def test_threshold_is_strict_and_runs_become_segments():
    probs = np.array([0.1, 0.5, 0.51, 0.9, 0.2, 0.7, 0.7, 0.1])
    segments = probabilities_to_segments(probs, 0.04, 10.0, SegmentRule())
    assert segments == [(0.08, 0.16), (0.2, 0.28)]


def test_median_filter_fills_gaps_and_removes_blips_like_scipy():
    rng = np.random.default_rng(0)
    probs = rng.uniform(size=200)
    rule = SegmentRule(threshold=0.4, median_window=5)
    expected = scipy.ndimage.median_filter((probs > 0.4).astype(int)[None, :], size=(1, 5))[0]  # upstream's call
    np.testing.assert_array_equal(active_frames(probs, rule), expected)
    blip = np.array([0, 0, 0.9, 0, 0, 0.9, 0.9, 0.1, 0.9, 0.9, 0, 0])
    assert probabilities_to_segments(blip, 0.04, 10.0, SegmentRule(median_window=3)) == [(0.2, 0.4)]


def test_segment_clipped_to_clip_end():
    assert probabilities_to_segments(np.ones(251), 0.04, 10.03, SegmentRule()) == [(0.0, 10.03)]
    assert probabilities_to_segments(np.zeros(0), 0.04, 1.0, SegmentRule()) == []


def test_score_and_rule_validation():
    assert phrase_score(np.array([0.2, 0.8, 0.4])) == pytest.approx(0.8)
    assert phrase_score(np.zeros(0)) == 0.0
    with pytest.raises(ValueError, match="odd"):
        SegmentRule(median_window=4)
    with pytest.raises(ValueError, match="threshold"):
        SegmentRule(threshold=1.0)
