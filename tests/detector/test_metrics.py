"""Metrics: EER/AUC on hand-made score sets; segment and event F1 identical to sed_eval 0.2.1."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detector import metrics as M


def test_eer_known_values():
    assert M.eer([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert M.eer([0, 0, 1, 1], [0.8, 0.9, 0.1, 0.2]) == 1.0
    # One real above one fake: at threshold 0.6 one of four reals is flagged and one of four fakes missed.
    assert M.eer([0, 0, 0, 0, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9]) == pytest.approx(0.25)
    # A real and a fake tied at 0.5: the operating points jump from (FPR, FNR) = (0, .5) to (.5, 0);
    # the crossing on the segment between them is at 0.25.
    assert M.eer([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9]) == pytest.approx(0.25)
    # Threshold 0.6 flags two of five reals (0.9, 0.8) and misses two of five fakes (0.5, 0.4): EER = 40 %.
    assert M.eer([0] * 5 + [1] * 5, [0.9, 0.8, 0.1, 0.2, 0.3, 0.85, 0.7, 0.6, 0.5, 0.4]) == pytest.approx(0.4)
    # A threshold (0.7) at which exactly one of four reals and one of four fakes are wrong: EER = 25 %.
    assert M.eer([0, 0, 0, 0, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.6, 0.8, 0.9, 0.95]) == pytest.approx(0.25)
    # All scores tied: chance.
    assert M.eer([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.5)


def test_eer_of_large_gaussian_sets_matches_theory():
    rng = np.random.default_rng(0)
    n = 200_000
    scores = np.r_[rng.normal(0, 1, n), rng.normal(2, 1, n)]
    labels = np.r_[np.zeros(n), np.ones(n)]
    # Two unit-variance Gaussians 2 apart cross at 1: EER = Phi(-1) = 0.1587.
    assert M.eer(labels, scores) == pytest.approx(0.158655, abs=3e-3)


def test_auc_known_values_and_ties():
    assert M.roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert M.roc_auc([0, 0, 0, 0, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9]) == pytest.approx(15 / 16)
    assert M.roc_auc([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9]) == pytest.approx(7 / 8)
    assert M.roc_auc([0, 1], [0.5, 0.5]) == 0.5
    with pytest.raises(ValueError, match="both"):
        M.roc_auc([1, 1], [0.2, 0.3])


def test_clip_accuracy_any_frame():
    frames = [np.array([0.1, 0.6]), np.array([0.2, 0.5]), np.array([0.9]), np.array([0.0])]
    # fake? [yes, no (0.5 is not > 0.5), yes, no] vs labels [1, 1, 0, 0] -> 2 of 4 right
    assert M.clip_accuracy_any_frame([1, 1, 0, 0], frames) == 0.5


def _random_files(rng, n_files, grid=None):
    refs, ests = [], []
    for _ in range(n_files):
        def events(k):
            out = []
            for _ in range(k):
                a = rng.uniform(0, 9)
                b = a + rng.uniform(0.02, 3)
                if grid:
                    a, b = round(round(a / grid) * grid, 6), round(round(b / grid) * grid, 6)
                    if b <= a:
                        b = round(a + grid, 6)
                out.append((float(a), float(b)))
            return out
        refs.append(events(int(rng.integers(0, 3))))
        ests.append(events(int(rng.integers(0, 4))))
    return refs, ests


def _sed_eval_lists(refs, ests):
    return [
        (
            [{"event_label": "fake", "onset": a, "offset": b, "filename": f"f{i}"} for a, b in r],
            [{"event_label": "fake", "onset": a, "offset": b, "filename": f"f{i}"} for a, b in e],
        )
        for i, (r, e) in enumerate(zip(refs, ests, strict=True))
    ]


def _same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-12)


@pytest.mark.parametrize("grid", [None, 0.04, 0.02])
@pytest.mark.parametrize("resolution", [1.0, 0.02])
def test_segment_f1_identical_to_sed_eval(resolution, grid):
    sed_eval = pytest.importorskip("sed_eval")
    rng = np.random.default_rng(int(resolution * 100) + (0 if grid is None else int(grid * 1000)))
    refs, ests = _random_files(rng, 60, grid)
    refs.append([(8.28, 9.96)])  # float edge: 8.28 / 0.02 = 413.99999999999994
    ests.append([(8.28, 9.96)])
    refs.append([])  # a real clip with a false alarm
    ests.append([(1.0, 1.5)])
    ref_metric = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=["fake"], time_resolution=resolution)
    for r, e in _sed_eval_lists(refs, ests):
        ref_metric.evaluate(reference_event_list=r, estimated_event_list=e)
    expected = ref_metric.results_overall_metrics()["f_measure"]
    ours = M.segment_f1(refs, ests, resolution)
    for key, theirs in (("f1", "f_measure"), ("precision", "precision"), ("recall", "recall")):
        assert _same(ours[key], expected[theirs]), (key, ours[key], expected[theirs])
    assert 0 < ours["f1"] < 1  # a non-trivial case


@pytest.mark.parametrize("evaluate_offset", [True, False])
def test_event_f1_identical_to_sed_eval(evaluate_offset):
    sed_eval = pytest.importorskip("sed_eval")
    rng = np.random.default_rng(7)
    refs, ests = _random_files(rng, 80, grid=0.04)
    # Near-misses around the collar, and a case where optimal matching beats greedy matching.
    refs += [[(2.0, 4.0)], [(1.0, 2.0), (1.2, 3.0)]]
    ests += [[(2.24, 4.6)], [(1.1, 2.9), (1.05, 2.05)]]
    ref_metric = sed_eval.sound_event.EventBasedMetrics(
        event_label_list=["fake"], t_collar=0.25, evaluate_offset=evaluate_offset
    )
    for r, e in _sed_eval_lists(refs, ests):
        ref_metric.evaluate(reference_event_list=r, estimated_event_list=e)
    expected = ref_metric.results_overall_metrics()["f_measure"]
    ours = M.event_f1(refs, ests, 0.25, evaluate_offset=evaluate_offset)
    for key, theirs in (("f1", "f_measure"), ("precision", "precision"), ("recall", "recall")):
        assert _same(ours[key], expected[theirs]), (key, ours[key], expected[theirs])
    assert 0 < ours["f1"] < 1


def test_prf_nan_conventions():
    assert math.isnan(M.prf(0, 0, 5)["precision"])
    assert M.prf(0, 3, 5)["f1"] == 0.0
    assert M.prf(2, 4, 4)["f1"] == pytest.approx(0.5)


def test_bootstrap_ci_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(3)
    labels = np.r_[np.zeros(60, int), np.ones(60, int)]
    scores = np.r_[rng.normal(0, 1, 60), rng.normal(1.5, 1, 60)]
    stat = lambda i: M.eer(labels[i], scores[i])  # noqa: E731
    a = M.bootstrap_ci(stat, labels, n_boot=200, seed=5)
    b = M.bootstrap_ci(stat, labels, n_boot=200, seed=5)
    c = M.bootstrap_ci(stat, labels, n_boot=200, seed=6)
    assert a == b and a != c
    point = M.eer(labels, scores)
    assert a[0] < point < a[1] and a[1] - a[0] < 0.3


def test_choose_threshold_rules():
    from detector.metrics import choose_threshold

    labels = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
    scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.65, 0.85, 0.92, 0.99]
    t = choose_threshold(labels, scores, "fpr:0.1")  # at most 1 of 10 reals at or above t
    assert 0.9 < t <= 0.92 + 1e-12 and sum(s >= t for s, y in zip(scores, labels, strict=True) if y == 0) == 1
    t0 = choose_threshold(labels, scores, "fpr:0.0")
    assert 0.95 < t0 < 0.99
    te = choose_threshold(labels, scores, "eer")
    fpr = np.mean([s >= te for s, y in zip(scores, labels, strict=True) if y == 0])
    fnr = np.mean([s < te for s, y in zip(scores, labels, strict=True) if y == 1])
    assert max(fpr, fnr) <= 0.25
    with pytest.raises(ValueError, match="threshold rule"):
        choose_threshold(labels, scores, "youden")
