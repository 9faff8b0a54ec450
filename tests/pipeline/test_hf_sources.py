"""Sources from a ``datasets`` dataset: a parquet file the test writes with AudioCaps columns, the same saved as a
local dataset folder, streamed, and served by the local Hub stand-in."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hub_standin import HubStandin, use_endpoint

from pipeline import corpus
from pipeline.audio_io import quantize_pcm16, resample, to_mono
from pipeline.hf_sources import (
    SourceDatasetError,
    file_stem,
    import_hf_sources,
    resolve_columns,
)
from pipeline.manifest import read_manifest
from pipeline.publish import detect_license
from pipeline.requests import ImportRequest

RATE_IN = 48000


def _encoded(audio: np.ndarray, fmt: str, rate: int = RATE_IN) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, audio, rate, format=fmt, subtype="PCM_16")
    return buf.getvalue()


def _clip(seed: int, seconds: float = 1.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(0.1 * rng.standard_normal((int(seconds * RATE_IN), 2)) * 32767) / 32768


@pytest.fixture(scope="module")
def rows():
    """AudioCaps-shaped rows: 3 clips (one with two caption rows, as in AudioCaps validation), plus bad rows."""
    clips = [_clip(i) for i in range(3)]
    audio = [{"bytes": _encoded(clips[0], "FLAC"), "path": None}, {"bytes": _encoded(clips[1], "WAV"), "path": None},
             {"bytes": _encoded(clips[2], "FLAC"), "path": None}]
    table = [
        (1, "-mVGmVjxBfU", 30, audio[0], "a man speaks then a dog barks"),
        (2, "3fgCYAQnyjQ", 0, audio[1], "rain falls on a tin roof"),
        (3, "-mVGmVjxBfU", 30, audio[0], "a dog barks while a man talks"),
        (4, "broken_clip", 10, {"bytes": b"RIFF not really audio", "path": None}, "nothing"),
        (5, "nocaption01", 20, audio[2], "  "),
        (6, "3fgCYAQnyjQ", 0, audio[2], "same id, other audio"),
        (7, "9IIa7qH29ps", 40, audio[2], "birds chirp"),
    ]
    keys = ("audiocap_id", "youtube_id", "start_time", "audio", "caption")
    return [dict(zip(keys, row, strict=True)) for row in table], clips


def _write_parquet(rows, path):
    from datasets import Audio, Dataset

    Dataset.from_list(rows).cast_column("audio", Audio(sampling_rate=RATE_IN)).to_parquet(str(path))
    return path


@pytest.fixture(scope="module")
def parquet(rows, tmp_path_factory):
    return _write_parquet(rows[0], tmp_path_factory.mktemp("ds") / "test-00000-of-00001.parquet")


@pytest.fixture(autouse=True)
def _datasets_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf_cache"))
    monkeypatch.setattr("datasets.config.HF_DATASETS_CACHE", tmp_path / "hf_cache")


def _expected(clip: np.ndarray) -> np.ndarray:
    return quantize_pcm16(resample(to_mono(clip.astype(np.float32)), RATE_IN, 32000))


def test_parquet_import_writes_resampled_flacs_manifest_and_rejections(rows, parquet, tmp_path):
    out = tmp_path / "sources"
    result = import_hf_sources(ImportRequest(hf_dataset=str(parquet), out=str(out)))
    assert [r.id for r in result.records] == ["-mVGmVjxBfU_30", "3fgCYAQnyjQ_0", "9IIa7qH29ps_40"]
    first = result.records[0]
    assert first.caption == "a man speaks then a dog barks"
    assert first.extra["captions"] == ["a man speaks then a dog barks", "a dog barks while a man talks"]
    assert first.extra["youtube_id"] == "-mVGmVjxBfU" and first.extra["start_time"] == "30"
    assert first.sample_rate == 32000 and first.num_samples == 48000 and first.audio_path == "audio/-mVGmVjxBfU_30.flac"
    for record, clip in zip(result.records, [rows[1][0], rows[1][1], rows[1][2]], strict=True):
        written, rate = sf.read(out / record.audio_path, dtype="float32")
        assert rate == 32000 and sf.info(str(out / record.audio_path)).format == "FLAC"
        np.testing.assert_array_equal(written, _expected(clip))  # mono -> soxr -> 16-bit, bit for bit
    reasons = {r.item.split()[-1]: r.reason for r in result.rejected}
    assert reasons.keys() == {"broken_clip_10", "nocaption01_20", "3fgCYAQnyjQ_0"}
    assert reasons["broken_clip_10"].startswith("cannot decode audio") and "0x" not in reasons["broken_clip_10"]
    assert reasons["nocaption01_20"] == "no caption"
    assert reasons["3fgCYAQnyjQ_0"] == "duplicate clip id with different audio"
    assert read_manifest(out / "manifest.jsonl") == result.records
    assert [json.loads(line)["reason"] for line in (out / "rejected.jsonl").read_text().splitlines()] == [
        r.reason for r in result.rejected]


def test_rerun_is_resumable_and_limit_counts_clips(parquet, tmp_path, monkeypatch):
    import pipeline.hf_sources as hf

    out = tmp_path / "sources"
    encoded: list[str] = []
    real_write = hf.write_audio
    monkeypatch.setattr(hf, "write_audio", lambda path, *a: encoded.append(path.name) or real_write(path, *a))
    partial = import_hf_sources(ImportRequest(hf_dataset=str(parquet), out=str(out), limit=1))
    assert [r.id for r in partial.records] == ["-mVGmVjxBfU_30"] and encoded == ["-mVGmVjxBfU_30.flac"]
    assert partial.records[0].extra["captions"] == ["a man speaks then a dog barks"]  # reading stopped at row 2
    full = import_hf_sources(ImportRequest(hf_dataset=str(parquet), out=str(out), workers=2))
    assert len(full.records) == 3 and encoded[0] == "-mVGmVjxBfU_30.flac"  # the 2 new clips, in either order
    assert sorted(encoded[1:]) == ["3fgCYAQnyjQ_0.flac", "9IIa7qH29ps_40.flac"]
    manifest_full = (out / "manifest.jsonl").read_bytes()
    assert full.records[0].sha256 == partial.records[0].sha256 and len(full.records[0].extra["captions"]) == 2
    again = import_hf_sources(ImportRequest(hf_dataset=str(parquet), out=str(out)))
    assert len(encoded) == 3 and (out / "manifest.jsonl").read_bytes() == manifest_full and again == full
    (out / "audio" / "3fgCYAQnyjQ_0.flac").write_bytes(b"damaged")  # a changed output is redone, not trusted
    import_hf_sources(ImportRequest(hf_dataset=str(parquet), out=str(out)))
    assert encoded[-1] == "3fgCYAQnyjQ_0.flac" and (out / "manifest.jsonl").read_bytes() == manifest_full
    assert not list(out.rglob(".*.part"))


def test_streaming_and_saved_folder_give_the_same_manifest(rows, parquet, tmp_path):
    from datasets import Audio, Dataset, DatasetDict

    reference = import_hf_sources(ImportRequest(hf_dataset=str(parquet), out=str(tmp_path / "a")))
    streamed = import_hf_sources(ImportRequest(hf_dataset=str(parquet), out=str(tmp_path / "b"), streaming=True))
    saved = tmp_path / "saved"
    ds = Dataset.from_list(rows[0]).cast_column("audio", Audio())
    DatasetDict({"train": ds}).save_to_disk(str(saved))
    from_folder = import_hf_sources(ImportRequest(hf_dataset=str(saved), out=str(tmp_path / "c"), split="train"))
    repo = tmp_path / "repo"  # a cloned Hub repo: data files, split from the file name
    (repo / "data").mkdir(parents=True)
    shutil.copy(parquet, repo / "data" / "test-00000-of-00001.parquet")
    import_hf_sources(ImportRequest(hf_dataset=str(repo), out=str(tmp_path / "d"), split="test"))
    manifests = [(tmp_path / d / "manifest.jsonl").read_text() for d in "abcd"]
    assert manifests[0] == manifests[1]
    assert manifests[2] == manifests[0].replace(str(parquet), str(saved))
    assert manifests[3] == manifests[0].replace(str(parquet), str(repo)).replace('"train"', '"test"')
    assert [r.sha256 for r in streamed.records] == [r.sha256 for r in reference.records] == [
        r.sha256 for r in from_folder.records]


def test_a_hub_dataset_through_the_standin(parquet, tmp_path, monkeypatch):
    from huggingface_hub import HfApi

    card = ("---\nlicense: cc-by-4.0\ndataset_info:\n  features:\n  - name: audiocap_id\n    dtype: int64\n"
            "  - name: youtube_id\n"
            "    dtype: string\n  - name: start_time\n    dtype: int64\n  - name: audio\n    dtype:\n      audio:\n"
            "        sampling_rate: 48000\n  - name: caption\n    dtype: string\nconfigs:\n- config_name: default\n"
            "  data_files:\n  - split: test\n    path: data/test-*\n---\n")
    with HubStandin() as hub:
        use_endpoint(monkeypatch, hub.endpoint)
        monkeypatch.setenv("HF_TOKEN", "hf_standin")
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub_cache"))
        monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub_cache"))
        api = HfApi(endpoint=hub.endpoint, token="hf_standin")
        api.create_repo("jp1924/AudioCaps", repo_type="dataset")
        api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id="jp1924/AudioCaps",
                        repo_type="dataset")
        api.upload_file(path_or_fileobj=str(parquet), path_in_repo="data/test-00000-of-00001.parquet",
                        repo_id="jp1924/AudioCaps", repo_type="dataset")
        local = import_hf_sources(ImportRequest(hf_dataset=str(parquet), out=str(tmp_path / "local"), limit=2))
        for streaming in (False, True):
            out = tmp_path / f"hub{int(streaming)}"
            result = import_hf_sources(ImportRequest(hf_dataset="jp1924/AudioCaps", out=str(out), split="test", limit=2,
                                                       streaming=streaming))
            assert [(r.id, r.sha256, r.extra["captions"]) for r in result.records] == [
                (r.id, r.sha256, r.extra["captions"]) for r in local.records]
            assert {r.extra["hf_dataset"] for r in result.records} == {"jp1924/AudioCaps"}
            attribution = (out / "LICENSES.md").read_text()  # what the card declares, for the corpus and its push
            assert "`jp1924/AudioCaps`" in attribution and detect_license(attribution) == "cc-by-4.0"
        assert "declared by its dataset card: none" in (tmp_path / "local" / "LICENSES.md").read_text()
        assert any(path.endswith("/data/test-00000-of-00001.parquet") for _, path in hub.state.requests)
        with pytest.raises(SourceDatasetError, match=r"^nobody/nothing: cannot open dataset") as err:
            import_hf_sources(ImportRequest(hf_dataset="nobody/nothing", out=str(tmp_path / "none")))
        assert "\n" not in str(err.value)


def test_columns_presets_and_overrides():
    audiocaps = ["audiocap_id", "youtube_id", "start_time", "audio", "caption"]
    cols = resolve_columns("jp1924/AudioCaps", audiocaps)
    assert (cols.audio, cols.captions, cols.id) == ("audio", ("caption",), ("youtube_id", "start_time"))
    clotho = ["file_name", "audio", *(f"caption_{i}" for i in range(1, 6)), "keywords"]
    cols = resolve_columns("CLAPv2/Clotho", clotho)
    assert cols.captions == tuple(f"caption_{i}" for i in range(1, 6)) and cols.id == ("file_name",)
    cols = resolve_columns("someone/clips", ["flac", "text", "__key__"])
    assert (cols.audio, cols.captions, cols.id) == ("flac", ("text",), ("__key__",))
    assert resolve_columns("x/y", ["audio", "text"]).id == ()  # id falls back to the audio's content hash
    cols = resolve_columns("x/y", ["sound", "desc", "uid", "caption"], audio="sound", caption="desc", id_column="uid")
    assert (cols.audio, cols.captions, cols.id) == ("sound", ("desc",), ("uid",))
    with pytest.raises(SourceDatasetError, match=r"no caption column found .*pass --caption-column"):
        resolve_columns("x/y", ["audio", "label"])
    with pytest.raises(SourceDatasetError, match="no audio column 'wave'"):
        resolve_columns("x/y", ["audio", "text"], audio="wave")
    with pytest.raises(ValueError, match="unknown preset"):
        ImportRequest(hf_dataset="x/y", out="out", preset="audioset")


def test_file_stems_are_safe_and_distinct():
    assert file_stem("-mVGmVjxBfU_30") == "-mVGmVjxBfU_30"
    odd = [file_stem("Distorted AM Radio noise"), file_stem("Distorted/AM Radio noise"), file_stem("../x")]
    assert len(set(odd)) == 3 and all("/" not in s and " " not in s and not s.startswith(".") for s in odd)


def test_unreadable_rows_do_not_stop_the_import(tmp_path):
    rows = [{"youtube_id": "a", "start_time": 0, "audio": {"bytes": b"", "path": "missing.wav"}, "caption": "x"},
            {"youtube_id": "", "start_time": 0, "audio": {"bytes": _encoded(_clip(5), "WAV"), "path": None},
             "caption": "y"},
            {"youtube_id": "ok", "start_time": 1, "audio": {"bytes": _encoded(_clip(6), "WAV"), "path": None},
             "caption": "z"}]
    path = _write_parquet(rows, tmp_path / "d.parquet")
    result = import_hf_sources(ImportRequest(hf_dataset=str(path), out=str(tmp_path / "out")))
    assert [r.id for r in result.records] == ["ok_1"]
    assert sorted(r.reason for r in result.rejected) == ["empty id column(s) youtube_id",
                                                         "no audio bytes and audio path 'missing.wav' not found"]
    assert corpus.load_job(tmp_path / "out", "nonexistent") is None


def test_a_missing_local_dataset_is_one_line_without_a_hub_hint(tmp_path):
    with pytest.raises(SourceDatasetError) as err:
        import_hf_sources(ImportRequest(hf_dataset=str(tmp_path / "none.parquet"), out=str(tmp_path / "out")))
    text = str(err.value)
    assert text.startswith(f"{tmp_path / 'none.parquet'}: cannot open dataset") and "Hub" not in text
    assert "\n" not in text


def _row(youtube_id: str, start: int, audio: bytes, caption: str) -> dict:
    return {"youtube_id": youtube_id, "start_time": start, "audio": {"bytes": audio, "path": None}, "caption": caption}


def _import_rows(rows: list[dict], tmp_path: Path, **policy) -> tuple:
    """Import ``rows`` (plus a good clip ``ok_1``) from a parquet file; returns (result, out)."""
    rows = [*rows, _row("ok", 1, _encoded(_clip(3), "WAV"), "z")]
    out = tmp_path / f"out{len(list(tmp_path.glob('out*')))}"
    data = tmp_path / "d.parquet"
    if not data.exists():
        _write_parquet(rows, data)
    return import_hf_sources(ImportRequest(hf_dataset=str(data), out=str(out), **policy)), out


def test_rows_the_source_policy_refuses_leave_no_file(tmp_path):
    """Digital silence and a 0.5 s clip are refused by pipeline.source_policy after encoding; their FLACs go too."""
    result, out = _import_rows([_row("quiet", 0, _encoded(0 * _clip(1), "WAV"), "nothing"),
                                _row("short", 0, _encoded(_clip(2, 0.5), "WAV"), "a click")], tmp_path)
    assert [r.id for r in result.records] == ["ok_1"]
    reasons = sorted(r.reason for r in result.rejected)
    assert "digital silence" in reasons[0] and "shorter than 1.0 s" in reasons[1]
    assert sorted(p.name for p in (out / "audio").iterdir()) == [Path(result.records[0].audio_path).name]


def test_the_policy_sees_the_recordings_own_rate_and_channels(tmp_path):
    """An 8 kHz or 9-channel recording is refused, although the written file (32 kHz, mono) would pass."""
    noise = np.random.default_rng(0).standard_normal
    rows = [_row("phone", 0, _encoded(0.1 * noise(8000 * 2), "WAV", 8000), "a phone call"),
            _row("array", 0, _encoded(0.1 * noise((16000 * 2, 9)), "WAV", 16000), "nine microphones")]
    result, out = _import_rows(rows, tmp_path)
    assert [r.id for r in result.records] == ["ok_1"]
    reasons = {r.item.split()[-1]: r.reason for r in result.rejected}
    assert reasons == {"phone_0": "sample rate 8000 Hz is below the minimum 16000 Hz",
                       "array_0": "9 channels (at most 8 are mixed to mono)"}
    assert sorted(p.name for p in (out / "audio").iterdir()) == ["ok_1.flac"]  # nothing written for them
    relaxed, _ = _import_rows(rows, tmp_path, min_sample_rate=8000, max_channels=9)
    assert len(relaxed.records) == 3
