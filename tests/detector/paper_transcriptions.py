"""The two papers' shared evaluation helpers, re-written from reading them (FakeSound ``eval_util.py``; FakeSound2's
``scr/utils/eval_util.py`` has the same two functions): the reference the protocol tests compare against."""

from __future__ import annotations

import numpy as np
import pytest


def transcribed_regions(active: np.ndarray) -> np.ndarray:
    """Their ``find_contiguous_regions``: ``[start, end)`` frame pairs of a 0/1 activity array."""
    changes = np.logical_xor(active[1:], active[:-1]).nonzero()[0] + 1
    if active[0]:
        changes = np.r_[0, changes]
    if active[-1]:
        changes = np.r_[changes, active.size]
    return changes.reshape(-1, 2)


def transcribed_sed_metric(ref_list: list[dict], pred_list: list[dict]) -> dict[str, float]:
    """Their ``calculate_sed_metric``: dcase_util containers filtered per unique file, sed_eval segment-based at 1 s
    and 0.02 s and event-based (0.25 s collar) overall F-measures."""
    sed_eval = pytest.importorskip("sed_eval")
    dcase_util = pytest.importorskip("dcase_util")
    reference = dcase_util.containers.MetaDataContainer(ref_list)
    estimated = dcase_util.containers.MetaDataContainer(pred_list)
    labels = reference.unique_event_labels
    seg1 = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=labels, time_resolution=1.0)
    seg002 = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=labels, time_resolution=0.02)
    event = sed_eval.sound_event.EventBasedMetrics(event_label_list=labels, t_collar=0.250)
    for filename in reference.unique_files:
        r, e = reference.filter(filename=filename), estimated.filter(filename=filename)
        for metric in (seg1, seg002, event):
            metric.evaluate(reference_event_list=r, estimated_event_list=e)
    return {"seg_f1_1s": seg1.results_overall_metrics()["f_measure"]["f_measure"],
            "seg_f1_20ms": seg002.results_overall_metrics()["f_measure"]["f_measure"],
            "event_f1": event.results_overall_metrics()["f_measure"]["f_measure"]}
