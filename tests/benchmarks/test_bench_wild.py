"""The wild benchmark's measures: CIs over recordings, false alarms per variant and content, reals vs fakes."""

from __future__ import annotations

import numpy as np

from benchmarks import bench_wild as W
from pipeline.manifest import ClipRecord


def _real(i: int, variant: str, content: str, recording: str) -> ClipRecord:
    return ClipRecord(id=f"c{i}@{variant}", label=0, audio_path=f"audio/{variant}/c{i}.flac", source_id=f"c{i}",
                      extra={"variant": variant, "content": content, "source_path": recording})


def test_cluster_ci_resamples_whole_recordings():
    # 10 recordings of 5 identical clips each: a clip-level bootstrap would see 50 items, the cluster one sees 10
    called = np.repeat(np.array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0], dtype=float), 5)
    clusters = [f"r{i // 5}" for i in range(50)]
    lo, hi = W.cluster_ci(lambda i: float(called[i].mean()), clusters, n_boot=2000)
    rng = np.random.default_rng(0)
    clip_level = [called[rng.integers(0, 50, 50)].mean() for _ in range(2000)]
    assert lo <= 0.2 <= hi
    assert hi - lo > 1.5 * (np.percentile(clip_level, 97.5) - np.percentile(clip_level, 2.5))
    same = W.cluster_ci(lambda i: float(called[i].mean()), [f"r{i}" for i in range(50)], n_boot=200)
    assert same[1] - same[0] < hi - lo


def test_cluster_ci_keeps_both_classes_when_clusters_are_pure():
    # 40 real-only recordings and 2 fake-only ones: unstratified, many resamples would hold no fake at all
    labels = np.array([0] * 40 + [1] * 2)
    scores = np.concatenate([np.linspace(0, 0.6, 40), [0.5, 0.9]])
    clusters = [f"real{i}" for i in range(40)] + ["fake0", "fake1"]
    sep = W.separation(labels, scores, 0.55, clusters, n_boot=300)
    assert np.isfinite(sep["eer"]["ci_low"]) and sep["eer"]["ci_low"] <= sep["eer"]["value"] <= sep["eer"]["ci_high"]
    seen = []
    W.cluster_ci(lambda i: seen.append(set(labels[i].tolist())) or 0.0, clusters, n_boot=200, labels=labels)
    assert all(s == {0, 1} for s in seen)


def test_false_alarms_split_by_variant_and_content():
    records, scores = [], []
    for i in range(6):
        content = "speech" if i < 3 else "music"
        for variant in ("clean", "mp3"):
            records.append(_real(i, variant, content, f"rec{i}"))
            scores.append(0.9 if (content == "speech" and variant == "mp3") else 0.1)
    fa = W.false_alarms(np.array(scores), 0.5, records, n_boot=100)
    assert fa["all"]["value"] == 0.25 and fa["all"]["n"] == 12 and fa["all"]["n_recordings"] == 6
    assert fa["by_variant"]["clean"]["value"] == 0.0 and fa["by_variant"]["mp3"]["value"] == 0.5
    assert fa["by_content_clean"]["speech"]["value"] == 0.0  # clean clips only
    assert fa["by_content_all_variants"]["speech"]["value"] == 0.5
    assert fa["by_content_all_variants"]["music"]["value"] == 0.0


def test_separation_measures_and_markdown():
    labels = np.array([0, 1] * 20)
    scores = np.where(labels == 1, 0.8, 0.2) + np.random.default_rng(0).normal(0, 0.05, 40)
    scores[:4] = [0.7, 0.3, 0.2, 0.8]  # one real above and one fake below the threshold
    clusters = [f"r{i // 4}" for i in range(40)]
    sep = W.separation(labels, scores, 0.5, clusters, n_boot=200)
    assert sep["fpr"]["value"] == 1 / 20 and sep["fnr"]["value"] == 1 / 20 and sep["n_recordings"] == 10
    assert 0 < sep["eer"]["value"] <= 0.05 + 1e-9 and sep["auc"]["value"] > 0.9
    assert sep["eer"]["ci_low"] <= sep["eer"]["value"] <= sep["eer"]["ci_high"]
    records = [_real(i, v, "speech", f"rec{i}") for i in range(4) for v in ("clean", "mp3")]
    fa = W.false_alarms(np.linspace(0, 1, 8), 0.5, records, n_boot=50)
    result = {"threshold": 0.5, "false_alarms": fa, "fakes": {"corpus": "x", "all": sep, "content:speech": sep}}
    text = W.wild_markdown({"model A": result, "model B": result})
    assert "| variant mp3 | 4 (4) |" in text and "model B EER %" in text and "| content:speech | 20/20 (10) |" in text
    assert "Threshold-free" not in text  # only when every system has the reference comparison
    text = W.wild_markdown({"model A": {**result, "reals_vs_reference_fakes": sep}})
    assert "| demo fakes called real % | 5.0 [" in text and f"| AUC | {sep['auc']['value']:.3f} [" in text
