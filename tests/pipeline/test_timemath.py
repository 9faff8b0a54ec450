import json

import numpy as np
import pytest

from pipeline.timemath import (
    ceil_to_grid,
    frame_labels_to_segments,
    is_on_grid,
    merge_segments,
    num_frames,
    resample_frame_scores,
    seconds_to_samples,
    segment_to_samples,
    segments_to_frame_labels,
    snap_to_grid,
)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 32000, 44100, 48000])
def test_every_fakesound_boundary_maps_to_the_exact_sample(rate, fixtures_dir):
    # Every onset/offset of the real FakeSound metadata is on the 40 ms grid; its sample index must be exact.
    entries = json.loads((fixtures_dir / "fakesound_meta" / "train.json").read_text())["audios"]
    for entry in entries[:400]:
        for text in entry["onset_offset"].split("_"):
            exact = round(float(text) * 1000) * rate // 1000 if (round(float(text) * 1000) * rate) % 1000 == 0 else None
            if exact is not None:
                assert seconds_to_samples(float(text), rate) == exact, (text, rate)


def test_segment_to_samples_half_open_and_rejects_reversed():
    assert segment_to_samples((8.28, 9.96), 32000) == (264960, 318720)
    assert segment_to_samples((0.0, 0.04), 16000) == (0, 640)
    with pytest.raises(ValueError):
        segment_to_samples((2.0, 1.0), 16000)
    with pytest.raises(ValueError):
        seconds_to_samples(-0.1, 16000)


def test_snap_to_grid_gives_clean_floats():
    assert snap_to_grid(8.2799) == 8.28
    assert snap_to_grid(1.419) == 1.4
    assert snap_to_grid(0.019) == 0.0
    assert snap_to_grid(0.021) == 0.04
    assert repr(snap_to_grid(3.999)) == "4.0"
    assert is_on_grid(8.28) and not is_on_grid(8.29)
    assert ceil_to_grid(8.2801) == 8.32 and ceil_to_grid(8.28) == 8.28 and ceil_to_grid(0.0) == 0.0


def test_frame_labels_exact_on_grid_and_round_trip():
    labels = segments_to_frame_labels([(1.0, 2.5)], 10.0)
    assert labels.shape == (500,)
    assert labels[:50].sum() == 0 and labels[50:125].all() and labels[125:].sum() == 0
    assert frame_labels_to_segments(labels) == [(1.0, 2.5)]
    assert num_frames(10.0, 0.16) == 63
    # frames 6..15 (0.96-2.56 s): frame 15 (2.40-2.56 s) is covered for 0.10 of its 0.16 s, more than half
    assert segments_to_frame_labels([(1.0, 2.5)], 10.0, 0.16).sum() == 10


def test_resample_frame_scores_and_merge():
    coarse = np.array([0, 1, 1, 0], dtype=np.float32)  # 160 ms frames
    fine = resample_frame_scores(coarse, 0.16, 0.02, 0.64)
    assert fine.shape == (32,)
    assert fine[:8].sum() == 0 and fine[8:24].all() and fine[24:].sum() == 0
    assert merge_segments([(3.0, 4.0), (1.0, 2.0), (2.1, 2.5)], gap_s=0.2) == [(1.0, 2.5), (3.0, 4.0)]
