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


def test_changed_segments_leave_out_whole_identical_frames_only():
    from pipeline.timemath import changed_segments

    rate = 1000  # 20 samples per 20 ms frame
    region = (1.0, 2.0)
    changed = np.zeros(1000, dtype=bool)
    changed[5:100] = True  # 1.005-1.1
    changed[150:151] = True  # a one-sample fragment at 1.15: its frame is kept
    changed[165:300] = True  # 1.165-1.3: the 15 ms gap before it stays inside the label (frame 1.16 changed)
    changed[345:346] = True  # 1.345 ...
    changed[371:400] = True  # ... and 1.371: the gap 1.346-1.371 covers no whole frame, so it stays in
    assert changed_segments(changed, region, rate) == [(1.0, 1.1), (1.14, 1.3), (1.34, 1.4)]
    # on the 40 ms grid every cell holds a change, so the identical frames 1.10-1.14 and 1.30-1.34 would be labelled
    assert changed_segments(changed, region, rate, cell_s=0.04) == [(1.0, 1.4)]
    assert changed_segments(np.zeros(1000, bool), region, rate) == []
    with pytest.raises(ValueError, match="change flags"):
        changed_segments(changed[:-1], region, rate)


def test_changed_segments_clip_to_an_off_grid_region_and_are_sample_exact():
    from pipeline.timemath import changed_segments, segment_to_samples, segments_to_frame_labels

    rate = 32000
    region = (0.5, 0.61)  # ends mid-frame
    start, stop = segment_to_samples(region, rate)
    changed = np.zeros(stop - start, dtype=bool)
    changed[-1] = True
    changed[0] = True
    segments = changed_segments(changed, region, rate)
    assert segments == [(0.5, 0.52), (0.6, 0.61)]
    labels = segments_to_frame_labels(segments, 1.0)
    assert np.flatnonzero(labels).tolist() == [25, 30]  # frame 30 = 0.60-0.62: half of it is labelled
    # a boundary sample exactly on a frame edge belongs to the frame it starts
    changed = np.zeros(stop - start, dtype=bool)
    changed[segment_to_samples((0.54, 0.54), rate)[0] - start] = True
    assert changed_segments(changed, region, rate) == [(0.54, 0.56)]
