import json

import numpy as np
import pytest
from scipy.signal import correlate

from pipeline.audio_io import read_audio
from pipeline.compose import compose_demo_sources, read_kit
from pipeline.conditions import history_bandwidth
from pipeline.corpus import assign_splits, finalize_corpus, load_job, save_job
from pipeline.errors import Rejection
from pipeline.hashing import sha256_file
from pipeline.manifest import ClipRecord, read_manifest
from pipeline.timemath import segment_to_samples


def test_composer_is_deterministic_and_events_are_where_it_says(tmp_path, kit_dir):
    m1, g1 = compose_demo_sources(tmp_path / "a", 6, seed=5, kit_dir=kit_dir)
    m2, _ = compose_demo_sources(tmp_path / "b", 6, seed=5, kit_dir=kit_dir)
    assert [sha256_file(tmp_path / "a" / r.audio_path) for r in read_manifest(m1)] == [
        sha256_file(tmp_path / "b" / r.audio_path) for r in read_manifest(m2)
    ]
    grounding = json.loads(g1.read_text())
    kit = {s.file: s for s in read_kit(kit_dir)}
    for record in read_manifest(m1):
        audio, rate = read_audio(tmp_path / "a" / record.audio_path)
        assert rate == 32000 and len(audio) == 320000
        assert "history" in record.extra
        if record.extra.get("level") == "silent":
            assert not np.any(audio)
            continue
        events = record.extra["events"]
        assert 1 <= len(events) <= 3 and [e["phrase"] for e in events] == [r["phrase"] for r in grounding[record.id]]
        for event in events:
            assert event["phrase"] in record.caption and kit[event["file"]].kind == "event"
            assert abs(event["onset"] / 0.04 - round(event["onset"] / 0.04)) < 1e-6
            start, stop = segment_to_samples((event["onset"], event["offset"]), rate)
            source, _ = read_audio(kit_dir / event["file"], rate)
            assert stop - start == len(source)
            # the event's own samples sit exactly at the stated onset: cross-correlation peaks at lag 0
            lo = max(0, start - 1600)
            xcorr = correlate(audio[lo : stop + 1600], source, mode="valid", method="fft")
            # a two-microphone downmix adds a weaker copy `delay` samples later: the peak may sit between
            delay = max([int(h.split(":")[1]) for h in record.extra["history"] if h.startswith("downmix:")] or [0])
            assert 0 <= lo + int(np.argmax(xcorr)) - start <= delay
        assert kit[record.extra["background"]].phrase in record.caption
    assert (tmp_path / "a" / "LICENSES.md").read_text().count("CC BY-SA 3.0") > 0


def test_composer_histories_band_limit_and_level_as_recorded(tmp_path, kit_dir):
    manifest, _ = compose_demo_sources(tmp_path, 24, seed=3, kit_dir=kit_dir)
    seen_band = False
    for record in read_manifest(manifest):
        audio, rate = read_audio(tmp_path / record.audio_path)
        if record.extra.get("level") == "silent":
            continue
        assert abs(20 * np.log10(np.max(np.abs(audio))) - record.extra["peak_dbfs"]) < 0.1
        band = history_bandwidth(record.extra["history"])  # a low-pass, a resampling or a low-rate MP3
        if band is not None and band <= 8000:
            seen_band = True
            spectrum = np.abs(np.fft.rfft(audio)) ** 2
            freqs = np.fft.rfftfreq(len(audio), 1 / rate)
            above = spectrum[freqs > band * 1.1].sum() / spectrum.sum()
            assert above < 1e-3, (record.id, record.extra["history"], above)
    assert seen_band
    plain, _ = compose_demo_sources(tmp_path / "plain", 2, seed=3, kit_dir=kit_dir, histories=False)
    assert all("history" not in r.extra for r in read_manifest(plain))


def test_splits_are_seeded_disjoint_and_cover_everything():
    ids = [f"s{i}" for i in range(40)]
    a, b, c = assign_splits(ids, 0), assign_splits(ids, 0), assign_splits(ids, 1)
    assert a == b and a != c
    counts = {s: sum(v == s for v in a.values()) for s in ("train", "val", "test")}
    assert counts == {"train": 28, "val": 6, "test": 6}


def test_job_records_resume_only_when_audio_is_intact(tmp_path):
    audio = tmp_path / "audio" / "x.wav"
    audio.parent.mkdir()
    audio.write_bytes(b"abc")
    record = ClipRecord(id="x", label=0, audio_path="audio/x.wav", sha256=sha256_file(audio), split="train")
    assert load_job(tmp_path, "k") is None
    save_job(tmp_path, "k", [record])
    assert load_job(tmp_path, "k") == ([record], None)
    audio.write_bytes(b"abd")  # changed or truncated audio -> the job reruns
    assert load_job(tmp_path, "k") is None
    save_job(tmp_path, "r", [], Rejection("bad.wav", "ground", "clip too short"))
    assert load_job(tmp_path, "r") == ([], Rejection("bad.wav", "ground", "clip too short"))


def test_finalize_writes_ordered_manifest_and_fakesound_json(tmp_path):
    recs = [
        ClipRecord(id="b_1.0_2.0", label=1, audio_path="audio/test/b_1.0_2.0.wav", source_id="b", split="test",
                   segments=[(1.0, 2.0)], manipulation="splice"),
        ClipRecord(id="b", label=0, audio_path="audio/test/b.wav", split="test"),
        ClipRecord(id="a", label=0, audio_path="audio/train/a.wav", split="train"),
    ]
    ordered = finalize_corpus(tmp_path, recs, [Rejection("z", "plan", "dup")], {"seed": 0})
    assert [r.id for r in ordered] == ["a", "b", "b_1.0_2.0"]
    test_json = json.loads((tmp_path / "test.json").read_text())
    assert test_json["audios"][1] == {"audio_id": "b_1.0_2.0", "label": 1, "onset_offset": "1.0_2.0",
                                      "filepath": "audio/test/b_1.0_2.0.wav"}
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["clips"] == 3 and summary["fakes"] == 1 and summary["counts"]["test/splice/-"] == 1
    assert (tmp_path / "rejected.jsonl").read_text().count("\n") == 1


def test_partial_files_of_a_killed_build_are_swept(tmp_path):
    from pipeline.corpus import remove_partial_files

    (tmp_path / "audio" / "train").mkdir(parents=True)
    leftover = tmp_path / "audio" / "train" / ".x.wav.abc123.wav.part"
    leftover.write_bytes(b"half")
    finished = tmp_path / "audio" / "train" / "x.wav"
    finished.write_bytes(b"whole")
    assert remove_partial_files(tmp_path) == 1
    assert not leftover.exists() and finished.exists()
    assert remove_partial_files(tmp_path / "missing") == 0


def test_atomic_writes_follow_the_umask(tmp_path):
    import os

    from pipeline import atomic

    mask = os.umask(0o027)
    try:
        atomic.atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640  # not mkstemp's 0600


def test_an_interrupt_right_after_the_temporary_file_is_made_leaves_nothing(tmp_path, monkeypatch):
    """Ctrl-C landing between the creation of the ``.part`` file and the write (the demo's interrupt test hit this
    window: a ``.part`` file was left while the CLI said nothing partial was kept)."""
    import os

    from pipeline import atomic

    real_close = os.close

    def close_then_interrupt(fd: int) -> None:
        real_close(fd)
        monkeypatch.setattr(os, "close", real_close)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "close", close_then_interrupt)
    with pytest.raises(KeyboardInterrupt), atomic.atomic_path(tmp_path / "x.flac") as tmp:
        tmp.write_bytes(b"never reached")
    assert list(tmp_path.iterdir()) == []
