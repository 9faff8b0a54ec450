"""Grounding evaluation: AudioGrounding v2 labels, the demo's known events, phrase and clip views, sed_eval parity."""

from __future__ import annotations

import json
import math

import pytest

from grounding.evaluate import EvalConfig, evaluate_grounding, format_evaluation, read_references
from grounding.ground import ground_sources
from grounding.results import GroundingResult, write_grounding

AUDIOGROUNDING = [
    {
        "audiocap_id": 101,
        "audio_id": "Yabc123.wav",
        "tokens": "a man speaks while a dog barks",
        "phrases": [
            {"phrase": "a man speaks", "start_index": 0, "end_index": 2, "segments": [[0.5, 3.0], [6.0, 8.0]]},
            {"phrase": "a dog barks", "start_index": 4, "end_index": 6, "segments": [[0.0, 0.0]]},
        ],
    },
    {
        "audiocap_id": 202,
        "audio_id": "Yxyz_9.wav",
        "tokens": "rain falls",
        "phrases": [{"phrase": "rain falls", "start_index": 0, "end_index": 1, "segments": [[0.0, 10.0]]}],
    },
]


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_reads_audiogrounding_v2(tmp_path):
    references, aliases = read_references(_write(tmp_path, "labels.json", AUDIOGROUNDING))
    assert aliases == {"101": "abc123", "202": "xyz_9"}
    assert references["abc123"][0] == GroundingResult("abc123", "a man speaks", [(0.5, 3.0), (6.0, 8.0)])
    assert references["abc123"][1].segments == []  # [0, 0] means no segment


def test_hand_counted_scores(tmp_path):
    labels = _write(tmp_path, "labels.json", AUDIOGROUNDING)
    estimates = {
        "abc123": [  # keyed by YouTube id
            GroundingResult("abc123", "A man  speaks", [(0.6, 2.9), (6.5, 7.0)], 0.9),  # 1 event hit, 1 miss
            GroundingResult("abc123", "a dog barks", [(4.0, 5.0)], 0.6),  # false alarm
        ],
        "202": [GroundingResult("202", "rain falls", [(0.0, 10.0)], 0.99)],  # keyed by audiocap id
    }
    path = write_grounding(tmp_path / "est.json", estimates)
    report = evaluate_grounding(labels, path)
    phrase = report["phrase"]
    assert phrase["files"] == 3
    # events: refs 3 (0.5-3, 6-8, 0-10), estimates 4; hits: (0.6, 2.9) and (0, 10) -> P 2/4, R 2/3
    assert phrase["event"]["counts"] == [2, 4, 3]
    assert phrase["event"]["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    # 1 s segments: man ref {0,1,2,6,7} est {0,1,2,6}; dog ref {} est {4,5 -> 4}; rain 10/10
    assert phrase["segment"]["counts"] == [4 + 10, 4 + 1 + 10, 5 + 10]
    clip = report["clip"]
    assert clip["files"] == 2 and report["clips_missing"] == 0
    assert clip["event"]["counts"] == [2, 4, 3]
    assert "segment F1" in format_evaluation(report)


def test_equals_sed_eval_with_the_tag_settings(tmp_path):
    sed_eval = pytest.importorskip("sed_eval")
    labels = _write(tmp_path, "labels.json", AUDIOGROUNDING)
    est = {"abc123": [GroundingResult("abc123", "a man speaks", [(0.3, 2.7), (5.9, 9.0)])]}
    report = evaluate_grounding(labels, write_grounding(tmp_path / "est.json", est))
    metric = sed_eval.sound_event.EventBasedMetrics(event_label_list=["e"], t_collar=0.2, percentage_of_length=0.2)
    segment = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=["e"], time_resolution=1.0)
    pairs = [
        ([(0.5, 3.0), (6.0, 8.0)], [(0.3, 2.7), (5.9, 9.0)]),
        ([], []),
        ([(0.0, 10.0)], []),
    ]
    for i, (ref, estimate) in enumerate(pairs):
        r = [{"event_label": "e", "onset": a, "offset": b, "filename": f"f{i}"} for a, b in ref]
        e = [{"event_label": "e", "onset": a, "offset": b, "filename": f"f{i}"} for a, b in estimate]
        metric.evaluate(reference_event_list=r, estimated_event_list=e)
        segment.evaluate(reference_event_list=r, estimated_event_list=e)
    assert report["phrase"]["event"]["f1"] == pytest.approx(metric.results_overall_metrics()["f_measure"]["f_measure"])
    seg_f1 = segment.results_overall_metrics()["f_measure"]["f_measure"]
    assert report["phrase"]["segment"]["f1"] == pytest.approx(seg_f1)
    assert report["clips_missing"] == 1


def test_demo_known_events_score_perfectly_against_themselves(demo_sources):
    _, known = demo_sources
    report = evaluate_grounding(known, known)
    for view in ("clip", "phrase"):
        assert report[view]["segment"]["f1"] == 1.0 and report[view]["event"]["f1"] == 1.0


def test_energy_fallback_on_demo_is_clip_view_only(demo_sources, tmp_path):
    manifest, known = demo_sources
    ground_sources(manifest, tmp_path / "energy.json", backend="energy")
    report = evaluate_grounding(known, tmp_path / "energy.json", EvalConfig(segment_resolution_s=0.04))
    assert report["phrase"] is None
    assert 0.0 < report["clip"]["segment"]["f1"] <= 1.0
    assert not math.isnan(report["clip"]["event"]["precision"])


def test_not_labels(tmp_path):
    with pytest.raises(ValueError, match="lacks 'audio_id'"):
        read_references(_write(tmp_path, "bad.json", [{"phrases": []}]))


def test_reference_queries_answer_to_both_ids(tmp_path):
    from grounding.evaluate import reference_queries

    queries = reference_queries(_write(tmp_path, "labels.json", AUDIOGROUNDING))
    assert queries["abc123"] == queries["101"] == ["a man speaks", "a dog barks"]
    assert queries["xyz_9"] == ["rain falls"]


def test_source_ids_with_start_time_find_their_labels(tmp_path):
    from grounding.evaluate import id_candidates

    assert id_candidates("xyz_9_30") == ["xyz_9_30", "xyz_9"]
    assert id_candidates("xyz_9_30.000") == ["xyz_9_30.000", "xyz_9"]
    assert id_candidates("abc123") == ["abc123"]
    labels = _write(tmp_path, "labels.json", AUDIOGROUNDING)
    est = {"xyz_9_30": [GroundingResult("xyz_9_30", "rain falls", [(0.0, 10.0)])]}
    report = evaluate_grounding(labels, write_grounding(tmp_path / "est.json", est))
    assert report["clips_missing"] == 1 and report["phrase"]["event"]["counts"] == [1, 1, 3]
