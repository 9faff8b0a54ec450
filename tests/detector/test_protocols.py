"""``--protocol fakesound`` against a transcription of FakeSound's evaluation loop run through sed_eval itself."""

from __future__ import annotations

import numpy as np
import pytest
from paper_transcriptions import transcribed_regions, transcribed_sed_metric

from detector.evaluate import ClipPrediction
from detector.protocols import fakesound_events, fakesound_protocol


def _pred(clip_id, label, segments, active_frames, n=500, value=0.9):
    scores = np.full(n, 0.1, dtype=np.float32)
    for a, b in active_frames:
        scores[a:b] = value
    return ClipPrediction(clip_id, label, "x" if label else "real", "test", segments, 0.0, [], scores)


def _cases():
    return [
        _pred("real_quiet", 0, [], []),                                  # (0,0) vs (0,0): an event TP
        _pred("real_alarm", 0, [], [(100, 130)]),                        # false alarm
        _pred("fake_missed", 1, [(2.0, 4.0)], []),                       # (0,0) estimate: an event FP
        _pred("fake_hit", 1, [(8.28, 9.96)], [(414, 498)]),              # float edges: 414 * 0.02
        _pred("fake_partial", 1, [(1.0, 3.0)], [(40, 70), (90, 160)]),
        _pred("fake_float", 1, [(0.7, 1.9)], [(35, 95)]),                 # 35 * 0.02 = 0.7000000000000001
        _pred("fake_long", 1, [(9.0, 11.0)], [(450, 560)], n=600),       # frames past 10 s are not seen
        _pred("fake_tie", 1, [(5.0, 6.0)], [(250, 300)], value=0.5),     # == threshold is not active (strict >)
        _pred("dup", 1, [(3.0, 4.0)], [(150, 200)]),                     # the same id twice: merged per file
        _pred("dup", 0, [], [(10, 20)]),
        _pred("fake_two", 1, [(1.0, 1.6), (2.0, 2.4)], [(50, 80), (100, 120)]),  # two labelled segments, both hit
        _pred("fake_two_hull", 1, [(4.0, 4.4), (5.0, 5.6)], [(200, 280)]),  # one run over both and the gap
    ]


def _transcribed_fakesound(preds, threshold=0.5):
    """FakeSound's inference loop and calculate_sed_metric, re-written from reading them: binarise with a strict
    threshold, runs times 0.02 (or one (0, 0) estimate), (0, 0) references for reals, dcase_util containers
    filtered per unique file, sed_eval segment (1 s, 0.02 s) and event (0.25 s collar) metrics."""
    ref_list, pred_list, correct = [], [], 0
    for p in preds:
        prob = np.zeros(500)
        prob[: min(500, len(p.frame_scores))] = p.frame_scores[:500]
        active = (prob > threshold).astype(int)
        correct += int((active.max() > threshold) == bool(p.label))
        rows = transcribed_regions(active)
        if len(rows) == 0:
            pred_list.append({"event_label": "fake", "onset": 0.0, "offset": 0.0, "filename": p.id})
        for a, b in rows:
            pred_list.append({"event_label": "fake", "onset": a * 0.02, "offset": b * 0.02, "filename": p.id})
        refs = [(0, 0)] if p.label == 0 else p.segments
        for a, b in refs:
            ref_list.append({"event_label": "fake", "onset": float(a), "offset": float(b), "filename": p.id})
    return {"acc": correct / len(preds), **transcribed_sed_metric(ref_list, pred_list)}


def test_fakesound_protocol_matches_the_transcription():
    preds = _cases()
    ours, theirs = fakesound_protocol(preds), _transcribed_fakesound(preds)
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, abs=1e-12), (key, ours[key], value)
    assert 0 < ours["event_f1"] < 1 and 0 < ours["seg_f1_20ms"] < 1


def test_fakesound_events_quirks():
    scores = np.zeros(600, dtype=np.float32)
    assert fakesound_events(scores) == [(0.0, 0.0)]
    scores[35:498] = 0.9
    scores[520:560] = 0.9  # after 10 s: not seen
    (event,) = fakesound_events(scores)
    assert event == (35 * 0.02, 498 * 0.02) and event[0] != 0.7  # unrounded (0.7000000000000001), as FakeSound
    scores[:35] = 0.5  # equal to the threshold: inactive
    assert fakesound_events(scores) == [event]
