"""``fakesound import-sources --hf-dataset`` -> ``build``, ``restore-reals``, and the ``import-sources`` flow."""

from __future__ import annotations

import json

import pytest
from fakesound_release import make_release

from flows.cli import main
from pipeline.manifest import read_manifest

CLIPS = (("bg_farmyard.flac", "farm01", 0, "animals call on a farm"),
         ("bg_forest_birds.flac", "birds02", 10, "birds sing in a forest"),
         ("bg_rain.flac", "rain3", 30, "rain falls steadily"))


@pytest.fixture
def audiocaps_parquet(kit_dir, tmp_path, monkeypatch):
    """The demo kit's real recordings as an AudioCaps-shaped parquet shard."""
    from datasets import Audio, Dataset

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf_cache"))
    monkeypatch.setattr("datasets.config.HF_DATASETS_CACHE", tmp_path / "hf_cache")
    rows = [{"audiocap_id": i, "youtube_id": yid, "start_time": start, "caption": caption,
             "audio": {"bytes": (kit_dir / name).read_bytes(), "path": None}}
            for i, (name, yid, start, caption) in enumerate(CLIPS)]
    path = tmp_path / "test-00000-of-00001.parquet"
    Dataset.from_list(rows).cast_column("audio", Audio()).to_parquet(str(path))
    return path


def test_import_a_parquet_dataset_then_build(audiocaps_parquet, tmp_path, capsys):
    sources = tmp_path / "sources"
    assert main(["import-sources", "--hf-dataset", str(audiocaps_parquet), "--out", str(sources),
                 "--streaming", "--workers", "1"]) == 0
    assert "3 sources written" in capsys.readouterr().out
    records = read_manifest(sources / "manifest.jsonl")
    assert [r.id for r in records] == ["birds02_10", "farm01_0", "rain3_30"]
    out = tmp_path / "corpus"
    assert main(["build", "--sources", str(sources / "manifest.jsonl"), "--out", str(out), "--seed", "1",
                 "--quiet"]) == 0
    built = read_manifest(out / "manifest.jsonl")
    assert len(built) == 6 and {r.source_id for r in built} == {r.id for r in records}
    attribution = (out / "LICENSES.md").read_text()  # the import's attribution travels with the corpus
    assert attribution == (sources / "LICENSES.md").read_text() and str(audiocaps_parquet) in attribution


def test_import_sources_needs_a_dataset_or_a_folder(tmp_path, capsys):
    assert main(["import-sources", "--out", str(tmp_path / "s")]) == 2
    assert "give `hf_dataset` (a datasets dataset), or both `audio` and `captions`" in capsys.readouterr().err
    assert main(["import-sources", "--out", str(tmp_path / "s"), "--audio", "a", "--captions", "c.csv",
                 "--limit", "3"]) == 2  # a dataset-only setting on a folder import is refused, not ignored
    assert "limit apply to a dataset import (hf_dataset) only" in capsys.readouterr().err
    assert main(["import-sources", "--out", str(tmp_path / "s"), "--hf-dataset", "x/y", "--audio", "a"]) == 2
    assert "not both" in capsys.readouterr().err


def test_restore_reals_command(tmp_path, fixtures_dir, capsys):
    root, _, cases, _ = make_release(tmp_path / "release", fixtures_dir)
    out = tmp_path / "paired"
    assert main(["restore-reals", "--metadata", str(root / "meta" / "easy.json"), "--fakes-root",
                 str(root / "unpacked"), "--sources", str(root / "sources" / "manifest.jsonl"), "--out", str(out),
                 "--workers", "1"]) == 3  # made, with rejections (README: exit codes)
    captured = capsys.readouterr()
    assert f"rejected: {cases['wrong']}: source" in captured.err and "paired corpus written" in captured.out
    assert json.loads((out / "summary.json").read_text())["clips"] == 4  # 2 reals + their fakes


def test_import_sources_flow(prefect_api, audiocaps_parquet, tmp_path):
    from flows.sources_flow import import_sources

    result = import_sources(hf_dataset=str(audiocaps_parquet), out=str(tmp_path / "s"), limit=2)
    assert result == {"out": str(tmp_path / "s"), "sources": 2, "rejected": 0}


def test_source_policy_limits_are_options(audiocaps_parquet, tmp_path, capsys):
    """The import policy's limits are request fields (CLI options, flow parameters): a rerun with a stricter limit
    does not reuse clips an earlier import accepted."""
    out = tmp_path / "s"
    base = ["import-sources", "--hf-dataset", str(audiocaps_parquet), "--out", str(out)]
    assert main(base) == 0 and len(read_manifest(out / "manifest.jsonl")) == 3
    capsys.readouterr()
    assert main([*base, "--max-seconds", "5"]) == 2  # every clip of the kit is 10 s long
    err = capsys.readouterr().err
    assert err.count("is longer than 5.0 s; cut it into clips") == 3 and not read_manifest(out / "manifest.jsonl")
    assert main([*base, "--min-seconds", "6", "--max-seconds", "5"]) == 2
    assert capsys.readouterr().err.strip().endswith("need 0 <= min_seconds <= max_seconds (got 6.0, 5.0)")


def test_a_folder_import_takes_the_policy_too(tmp_path, capsys):
    import numpy as np
    import soundfile as sf

    audio = tmp_path / "audio"
    audio.mkdir()
    sf.write(audio / "phone.wav", 0.1 * np.random.default_rng(0).standard_normal(8000 * 3), 8000, subtype="PCM_16")
    (tmp_path / "c.csv").write_text("audiocap_id,youtube_id,start_time,caption\n1,phone,0,a call\n")
    base = ["import-sources", "--audio", str(audio), "--captions", str(tmp_path / "c.csv"),
            "--out", str(tmp_path / "s")]
    assert main(base) == 2 and "below the minimum 16000 Hz" in capsys.readouterr().err
    assert main([*base, "--min-sample-rate", "8000"]) == 0
    assert [r.id for r in read_manifest(tmp_path / "s" / "manifest.jsonl")] == ["phone"]


def test_import_flow_takes_the_policy(prefect_api, audiocaps_parquet, tmp_path):
    from flows.sources_flow import import_sources

    result = import_sources(hf_dataset=str(audiocaps_parquet), out=str(tmp_path / "s"), max_seconds=5.0)
    assert result == {"out": str(tmp_path / "s"), "sources": 0, "rejected": 3}
