"""The exit-code contract (README "Exit codes"): 0 all made, 3 made with rejections, 2 nothing made or wrong
arguments, 130 Ctrl-C (tests/flows/test_interrupt.py); and the build flow: Completed with the rejected count in
an artifact, or Failed with the reason."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from flows.cli import main
from pipeline.errors import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL
from pipeline.manifest import ClipRecord, write_manifest


@pytest.fixture
def sources(tmp_path, kit_dir):
    """Two good sources and two bad ones (NaN samples: a bad source and donor; no caption: a bad source but a usable
    donor), as source manifests (all, only the bad ones): 3 rejections either way. (A missing source file is not a
    rejection but a failed job, retried: README "Resuming and crash safety".)"""
    root = tmp_path / "src"
    root.mkdir()
    for name in ("bg_rain.flac", "bg_river.flac", "bg_stream.flac"):
        shutil.copy(kit_dir / name, root / name)
    sf.write(root / "nan.wav", np.where(np.arange(320000) == 3, np.nan, 0.1), 32000, subtype="FLOAT")
    good = [ClipRecord(id=n.split(".")[0], label=0, audio_path=n, caption="water") for n in ("bg_rain.flac",
                                                                                         "bg_river.flac")]
    bad = [ClipRecord(id="nan", label=0, audio_path="nan.wav", caption="poison"),
           ClipRecord(id="nocap", label=0, audio_path="bg_stream.flac", caption="")]
    return write_manifest(root / "all.jsonl", good + bad), write_manifest(root / "bad.jsonl", bad)


def _build(manifest, out) -> int:
    return main(["build", "--sources", str(manifest), "--out", str(out), "--quiet", "--workers", "1"])


def test_build_exit_codes(sources, tmp_path, capsys):
    everything, only_bad = sources
    assert _build(everything, tmp_path / "a") == EXIT_PARTIAL
    err = capsys.readouterr().err
    assert "rejected: " in err and "nan.wav" in err and "bg_stream.flac" in err
    assert _build(only_bad, tmp_path / "b") == EXIT_ERROR
    err = capsys.readouterr().err
    assert "fakesound build: error: no clip could be made" in err
    assert main(["demo", "--out", str(tmp_path / "c"), "--clips", "2", "--quiet"]) == EXIT_OK


def test_import_sources_exit_codes(tmp_path, kit_dir, capsys):
    audio = tmp_path / "audio"
    audio.mkdir()
    shutil.copy(kit_dir / "bg_rain.flac", audio / "rain1.flac")
    (audio / "junk.wav").write_bytes(b"not audio")
    csv = tmp_path / "captions.csv"
    csv.write_text("audiocap_id,youtube_id,start_time,caption\n1,rain1,0,rain falls\n2,junk,0,junk\n")
    args = ["import-sources", "--audio", str(audio), "--captions", str(csv), "--out", str(tmp_path / "s")]
    assert main(args) == EXIT_PARTIAL
    (audio / "rain1.flac").unlink()
    assert main(args) == EXIT_ERROR
    assert "fakesound import-sources: error: no source could be imported" in capsys.readouterr().err
    (audio / "junk.wav").unlink()
    shutil.copy(kit_dir / "bg_rain.flac", audio / "rain1.flac")
    csv.write_text("audiocap_id,youtube_id,start_time,caption\n1,rain1,0,rain falls\n")
    assert main(args) == EXIT_OK


def test_wrong_arguments_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--out", str(tmp_path), "--no-such-option"])
    assert exit_info.value.code == EXIT_ERROR
    assert main(["build", "--sources", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")]) == EXIT_ERROR


def test_build_flow_completes_with_a_rejected_count_or_fails_with_the_reason(prefect_api, sources, tmp_path):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    from flows.artifacts import artifact_key
    from flows.build_flow import build_fakesound

    everything, only_bad = sources
    done = build_fakesound(out=str(tmp_path / "a"), sources=str(everything), workers=1, return_state=True)
    failed = build_fakesound(out=str(tmp_path / "b"), sources=str(only_bad), workers=1, return_state=True)
    assert done.is_completed() and (done.result()["clips"], done.result()["rejected"]) == (4, 3)
    assert failed.is_failed() and "no clip could be made: 3 inputs rejected" in str(failed.message)

    async def rejected_artifact(out):
        async with get_client() as client:
            (latest,) = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[artifact_key("rejected", str(out))])),
                sort=ArtifactSort.CREATED_DESC, limit=1)
        return latest

    for out in (tmp_path / "a", tmp_path / "b"):
        artifact = asyncio.run(rejected_artifact(out))
        assert artifact.description.startswith("3 inputs rejected") and "nan.wav" in str(artifact.data)


def test_ground_exit_codes(sources, tmp_path, capsys):
    """``fakesound ground``: 3 when a clip was rejected (the rest grounded), 2 when none could be."""
    everything, only_bad = sources
    assert main(["ground", "--sources", str(everything), "--out", str(tmp_path / "a.json"), "--backend",
                 "energy"]) == EXIT_PARTIAL
    assert [line for line in capsys.readouterr().err.splitlines() if line.startswith("rejected: ")] == [
        f"rejected: {tmp_path / 'src' / 'nan.wav'}: audio contains NaN or Inf samples"]
    assert main(["ground", "--sources", str(only_bad), "--out", str(tmp_path / "b.json"), "--backend",
                 "energy"]) == EXIT_PARTIAL  # the clip without a caption is grounded by energy: one made


def test_train_refuses_a_corpus_with_a_clip_that_does_not_decode(tmp_path, capsys):
    """Every clip is checked before anything is built: one line naming the file, exit 2, no output folder."""
    from tiny_corpus import make_tiny_corpus

    corpus = tmp_path / "corpus"
    records = make_tiny_corpus(corpus)
    bad = corpus / records[-1].audio_path
    bad.write_bytes(bad.read_bytes()[:60])  # a test-split clip: train itself never reads it
    out = tmp_path / "run"
    assert main(["train", "--corpus", str(corpus), "--out", str(out), "--epochs", "1"]) == EXIT_ERROR
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err and "truncated file" in err, err
    assert not out.exists()
