"""Human answers scored with the detector's own metrics, checked against hand-computed values."""

from __future__ import annotations

import math

import pytest
from answers_helpers import EXPECTED_ADDITION, EXPECTED_ALL, EXPECTED_SPLICE, SCRIPT, scripted_answers

from detector.human import answer_prediction, human_rows, read_human_answers


def _values(row):
    return {k: row["metrics"][k]["value"] for k in ("acc_clip", "acc_any_frame", "auc", "eer", "seg_f1_1s",
                                                   "seg_f1_20ms", "event_f1")}


def test_scores_match_hand_computation(corpus, tmp_path):
    scripted_answers(corpus, tmp_path / "a.sqlite")
    answers = read_human_answers(tmp_path / "a.sqlite")
    assert [a.clip_id for a in answers] == [cid for cid, *_ in SCRIPT]
    assert [round(a.score, 6) for a in answers] == [0.9, 0.3, 0.0, 0.6]
    rows, curves = human_rows(answers, n_boot=200)
    by_group = {r["group"]: r for r in rows}
    assert {r["checkpoint"] for r in rows} == {"humans"} and {r["split"] for r in rows} == {"train"}
    for group, expected in (("all", EXPECTED_ALL), ("splice", EXPECTED_SPLICE), ("addition", EXPECTED_ADDITION)):
        got = _values(by_group[group])
        for key, value in expected.items():
            assert got[key] == pytest.approx(value), (group, key)
    acc = by_group["all"]["metrics"]["acc_clip"]
    assert acc["ci_low"] <= 0.5 <= acc["ci_high"]
    assert curves["humans"] == ([1, 1, 0, 0], [a.score for a in answers])


def test_marked_regions_become_frames(corpus, tmp_path):
    scripted_answers(corpus, tmp_path / "a.sqlite")
    first, missed, _, false_alarm = (answer_prediction(a) for a in read_human_answers(tmp_path / "a.sqlite"))
    assert first.estimated() == [(0.2, 0.4)] and first.frame_scores.sum() == 10 and len(first.frame_scores) == 25
    assert missed.estimated() == [] and not missed.frame_scores.any()
    assert false_alarm.estimated() == [(0.1, 0.3)]


def test_eer_left_out_without_confidences(corpus, tmp_path):
    store = scripted_answers(corpus, tmp_path / "a.sqlite")
    import sqlite3

    with sqlite3.connect(store.path) as con:
        con.execute("UPDATE answers SET confidence = NULL WHERE idx = 0")
    rows, curves = human_rows(read_human_answers(store.path), n_boot=0)
    assert math.isnan(rows[0]["metrics"]["eer"]["value"]) and curves == {}
    assert rows[0]["metrics"]["acc_clip"]["value"] == pytest.approx(0.5)
