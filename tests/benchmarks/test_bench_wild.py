"""The wild benchmark's measures: CIs over recordings, false alarms per variant and content, reals vs fakes."""

from __future__ import annotations

import numpy as np

from benchmarks import bench_wild as W
from detector.data import load_corpus
from detector.inference import Detector
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


class _WindowStub:
    """Stands in for a Detector in the long-recording bookkeeping: one window per started 8000 samples, each
    scoring 0.9 where the wave holds the fake clip's marker value (0.5) and 0.6 in the first window, 0.1 elsewhere."""

    sample_rate, threshold, tail_scale = 8000, 0.7, 0.5
    clip_score = Detector.clip_score  # the detector's own length correction

    def __init__(self):
        self.seen: list[np.ndarray] = []

    def predict_windows(self, wave):
        self.seen.append(wave)
        k = -(-len(wave) // 8000)
        return [0.9 if np.any(np.isclose(wave[i * 8000 : (i + 1) * 8000], 0.5)) else (0.6 if i == 0 else 0.1)
                for i in range(k)], None


def test_long_recordings_are_scored_whole_and_fakes_are_put_back_where_their_clip_was_cut(tmp_path):
    from detector.decision import length_adjusted
    from pipeline.audio_io import write_audio
    from pipeline.manifest import write_manifest

    rate, wild, corpus = 8000, tmp_path / "wild", tmp_path / "corpus"
    recordings = {"long.wav": 40.0, "short.wav": 10.0}  # only the first is long enough (LONG_S = 30 s)
    clean, corpus_records = [], []
    for i, (name, seconds) in enumerate(recordings.items()):
        write_audio(tmp_path / "extracted" / "pkg" / name, np.full(int(seconds * rate), 0.05, np.float32), rate)
        clip = np.full(2 * rate, 0.05, np.float32)
        write_audio(wild / "audio" / "clean" / f"c{i}.flac", clip, rate)
        clean.append(ClipRecord(id=f"c{i}@clean", label=0, audio_path=f"audio/clean/c{i}.flac", source_id=f"c{i}",
                                extra={"variant": "clean", "content": "music", "source_path": name,
                                       "package": "pkg 1.0-1", "start_s": 20.5 if i == 0 else 1.0}))
        fake = clip.copy()
        fake[rate // 2 : rate] = 0.5  # the "manipulated" region
        for label, audio in ((0, clip), (1, fake)):
            path = write_audio(corpus / "audio" / f"c{i}_{label}.flac", audio, rate)
            corpus_records.append(ClipRecord(id=f"c{i}_{label}", label=label, audio_path=str(path.relative_to(corpus)),
                                             source_id=f"c{i}", split="test",
                                             segments=[(0.5, 1.0)] if label else []))
    write_manifest(wild / "manifest.jsonl", clean)
    write_manifest(corpus / "manifest.jsonl", corpus_records)
    stub = _WindowStub()
    records = load_corpus(corpus)
    out = W.evaluate_long(stub, clean, wild, records, corpus, n_boot=50)
    assert out["reals_called_fake"]["n"] == 1 and out["median_seconds"] == 40.0
    # the real recording: 40 windows, the largest 0.6 -> below 0.7 at any length; plain and corrected agree
    assert out["reals_called_fake"]["value"] == out["reals_called_fake_plain"]["value"] == 0.0
    assert out["windows_called_fake"]["n"] == 40
    # its fake put back at 20.5 s: the marker lands in samples 20.5 * 8000 + 4000 ... (window 21)
    fake_wave = stub.seen[-1]
    marked = np.flatnonzero(np.isclose(fake_wave, 0.5))
    assert marked[0] == round(20.5 * rate) + rate // 2 and len(marked) == rate // 2
    assert out["fakes_put_back"]["n_fake"] == out["fakes_put_back"]["n_real"] == 1
    called = length_adjusted(0.9, 40, 0.5) >= 0.7
    assert out["fakes_put_back"]["fnr"]["value"] == (0.0 if called else 1.0)
    assert out["fakes_put_back_plain"]["fnr"]["value"] == 0.0
    sep = out["fakes_put_back"]
    fa = W.false_alarms(np.zeros(2), 0.5, clean, n_boot=10)
    text = W.wild_markdown({"m": {"threshold": 0.7, "false_alarms": fa, "fakes": {"all": sep}, "long": out}})
    assert "### Long recordings (wild recordings of 30 s or more, scored whole; median 40 s)" in text
    assert "| reals called fake %, stored decision (length-corrected; n=1) | 0.0" in text
    assert "| ... corrected: long reals called fake % / long fakes called real % | 0.0 [0.0, 0.0] / 100.0 [" in text
    (tmp_path / "extracted" / "pkg" / "long.wav").unlink()
    # the extracted packages gone: the part is skipped
    assert W.evaluate_long(stub, clean, wild, records, corpus, n_boot=10) == {}


def test_short_pieces_cover_reals_and_centre_on_the_fake_region():
    def record(label, segments=()):
        return ClipRecord(id=f"c{label}", label=label, audio_path="a.wav", source_id="s", segments=list(segments))

    assert W._pieces(1000, 100, 3.0, record(0)) == [(0, 300), (300, 600), (600, 900)]
    assert W._pieces(1000, 100, 3.0, record(1, [(4.0, 6.0)])) == [(350, 650)]  # centred on 5 s
    assert W._pieces(1000, 100, 3.0, record(1, [(9.0, 9.8)])) == [(700, 1000)]  # kept inside the clip
    assert W._pieces(250, 100, 3.0, record(0)) == []  # shorter than a piece
