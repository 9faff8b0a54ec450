"""Fakes labelled by several segments (an added event's silent gaps left out): every detector consumer uses every
segment — frame targets for training, segment/event F1, the boundary probe's edges."""

from __future__ import annotations

import numpy as np
import pytest

from detector.data import frame_targets
from detector.evaluate import ClipPrediction, compute_metrics
from detector.probes import _instants
from pipeline.manifest import ClipRecord

SEGMENTS = [(1.0, 1.6), (2.0, 2.4)]


def _fake(segments=SEGMENTS):
    return ClipRecord(id="s_1.0_2.4", label=1, audio_path="f.wav", source_id="s", segments=list(segments),
                      manipulation="addition")


def test_frame_targets_label_each_segment_and_not_the_gap():
    targets = frame_targets(_fake(), 32000 * 3, 32000, 0.02, 150)
    assert np.flatnonzero(targets).tolist() == list(range(50, 80)) + list(range(100, 120))
    coarse = frame_targets(_fake(), 32000 * 3, 32000, 0.04, 75)  # a front-end at 40 ms frames
    assert np.flatnonzero(coarse).tolist() == list(range(25, 40)) + list(range(50, 60))


def _prediction(active):
    scores = np.zeros(150, dtype=np.float32)
    for a, b in active:
        scores[a:b] = 0.9
    return ClipPrediction("s_1.0_2.4", 1, "addition", "test", list(SEGMENTS), 0.9, [], scores)


def test_segment_and_event_f1_score_every_segment():
    exact = compute_metrics([_prediction([(50, 80), (100, 120)])], n_boot=0)
    assert exact["seg_f1_20ms"]["value"] == pytest.approx(1.0) and exact["event_f1"]["value"] == pytest.approx(1.0)
    hull = compute_metrics([_prediction([(50, 120)])], n_boot=0)  # the gap called fake: 20 false frames
    assert hull["seg_20ms"]["precision"] == pytest.approx(50 / 70) and hull["seg_20ms"]["recall"] == 1.0
    assert hull["event_f1"]["value"] == pytest.approx(0.0)  # one estimate, matching neither event's offset
    first_only = compute_metrics([_prediction([(50, 80)])], n_boot=0)
    assert first_only["event_f1"]["value"] == pytest.approx(2 / 3)  # 1 of 2 events found, 1 estimate


def test_boundary_probe_looks_at_every_segment_edge():
    fake = _fake()
    real = ClipRecord(id="s", label=0, audio_path="r.wav", source_id="s")
    assert _instants(fake, None, 10.0) == [1.0, 1.6, 2.0, 2.4]
    assert _instants(real, fake, 10.0) == [1.0, 1.6, 2.0, 2.4]  # the paired real at the same instants
