"""``benchmark --audio-root``: a published FakeSound JSON's ``filepath`` values resolve wherever the audio was
unpacked."""

from __future__ import annotations

import shutil

from detector.benchmark import read_test_manifest, run_benchmark
from pipeline.fakesound_format import write_fakesound_json
from pipeline.manifest import read_manifest


def test_published_filepaths_resolve_under_the_audio_root(tiny_ckpt, tiny_corpus, tmp_path):
    records = [r for r in read_manifest(tiny_corpus / "manifest.jsonl") if r.split == "test"]
    unpacked = tmp_path / "unpacked" / "FakeSound" / "deepfake_data" / "test"
    unpacked.mkdir(parents=True)
    published = []
    for r in records:
        shutil.copy(tiny_corpus / r.audio_path, unpacked / f"{r.id}.wav")
        published.append(r.__class__(**{**r.to_dict(), "audio_path": f"FakeSound/deepfake_data/test/{r.id}.wav"}))
    meta = tmp_path / "meta_data" / "test.json"
    meta.parent.mkdir()
    write_fakesound_json(meta, published)

    for root in (tmp_path / "unpacked", tmp_path / "unpacked" / "FakeSound"):
        resolved = read_test_manifest(meta, audio_root=root)
        assert [r.audio_path for r in resolved] == [str(unpacked / f"{r.id}.wav") for r in records]
    assert read_test_manifest(meta)[0].audio_path == published[0].audio_path  # untouched without a root

    without = run_benchmark([tiny_ckpt], [meta], tmp_path / "b0", n_boot=0, progress=False)
    assert len(without["errors"]) == len(records)
    found = run_benchmark([tiny_ckpt], [meta], tmp_path / "b1", n_boot=0, progress=False,
                          audio_root=tmp_path / "unpacked")
    assert found["errors"] == [] and any(row["group"] == "all" for row in found["rows"])


def test_benchmark_runs_on_restored_fakesound_reals(tiny_ckpt, tmp_path, fixtures_dir):
    from fakesound_release import make_release

    from pipeline.fakesound_reals import RestoreRealsRequest, restore_reals

    root = make_release(tmp_path / "release", fixtures_dir)[0]
    out = tmp_path / "paired"
    restore_reals(RestoreRealsRequest((str(root / "meta" / "easy.json"), str(root / "meta" / "zeroshot.json")),
                                      str(root / "unpacked"), str(root / "sources" / "manifest.jsonl"), str(out)))
    results = run_benchmark([tiny_ckpt], [out / "easy.json", out / "zeroshot.json"], tmp_path / "bench", n_boot=0,
                            progress=False)
    assert results["errors"] == []
    counts = {(r["split"], r["group"]): (r["metrics"]["n_fake"], r["metrics"]["n_real"]) for r in results["rows"]}
    assert counts["easy", "all"] == (2, 2) and counts["zeroshot", "all"] == (2, 2)
