"""The README's build commands through the real CLI entry point."""

import json
import shutil

import numpy as np

from flows.cli import main
from pipeline.audio_io import read_audio
from pipeline.fakesound_format import read_fakesound_json
from pipeline.manifest import read_manifest


def test_demo_command_builds_every_split_and_manipulation(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--clips", "24", "--seed", "2", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "24 clips, 12 fake, 0 rejected" in printed
    records = read_manifest(tmp_path / "demo" / "manifest.jsonl")
    assert {r.split for r in records} == {"train", "val", "test"}
    assert {r.manipulation for r in records if r.label == 1} == {"splice", "addition", "vocoder"}
    for split in ("train", "val", "test"):
        entries = read_fakesound_json(tmp_path / "demo" / f"{split}.json")
        assert sum(e.label for e in entries) * 2 == len(entries)  # every real clip paired with its fake
        assert {e.source_id for e in entries if e.label == 1} == {e.id for e in entries if e.label == 0}
    for fake in (r for r in records if r.manipulation == "addition"):
        # the label is the added event's span on the frame grid: changed samples reach into its last 100 ms
        real, _ = read_audio(tmp_path / "demo" / f"audio/{fake.split}/{fake.source_id}.wav")
        made, _ = read_audio(tmp_path / "demo" / fake.audio_path)
        start, stop = (round(t * 32000) for t in (fake.segments[0][0], fake.segments[-1][1]))
        changed = np.flatnonzero(real != made)
        assert changed.min() >= start and stop - 3200 <= changed.max() < stop
        assert fake.extra["donor_id"].startswith("ev_")
    for fake in (r for r in records if r.label == 1):
        # honest labels: every labelled 20 ms frame holds a sample that differs from the real, none outside does
        real, _ = read_audio(tmp_path / "demo" / f"audio/{fake.split}/{fake.source_id}.wav")
        made, _ = read_audio(tmp_path / "demo" / fake.audio_path)
        inside = np.zeros(len(real), dtype=bool)
        for onset, offset in fake.segments:
            start, stop = round(onset * 32000), round(offset * 32000)
            inside[start:stop] = True
            assert all(not np.array_equal(real[i : min(i + 640, stop)], made[i : min(i + 640, stop)])
                       for i in range(start, stop, 640)), fake.id
        assert np.array_equal(real[~inside], made[~inside]), fake.id
    assert (tmp_path / "demo" / "LICENSES.md").read_text().startswith("# Licences")
    assert json.loads((tmp_path / "demo" / "summary.json").read_text())["clips"] == 24


def test_import_sources_then_build(tmp_path, kit_dir, capsys):
    audio = tmp_path / "audiocaps"
    audio.mkdir()
    for name, yid in (("bg_farmyard.flac", "farm01"), ("bg_forest_birds.flac", "birds02"), ("bg_rain.flac", "rain3")):
        shutil.copy(kit_dir / name, audio / f"{yid}.flac")
    (tmp_path / "captions.csv").write_text(
        "audiocap_id,youtube_id,start_time,caption\n1,farm01,0,animals call on a farm\n"
        "2,birds02,10,birds sing in a forest\n3,rain3,0,rain falls steadily\n"
    )
    assert main(["import-sources", "--audio", str(audio), "--captions", str(tmp_path / "captions.csv"),
                 "--out", str(tmp_path / "sources")]) == 0
    sources = tmp_path / "sources" / "manifest.jsonl"
    assert "3 sources written" in capsys.readouterr().out
    out = tmp_path / "corpus"
    assert main(["build", "--sources", str(sources), "--out", str(out), "--seed", "4", "--quiet"]) == 0
    records = read_manifest(out / "manifest.jsonl")
    fakes = [r for r in records if r.label == 1]
    assert len(records) == 6 and len(fakes) == 3
    for fake in fakes:
        real = next(r for r in records if r.id == fake.source_id)
        a, _ = read_audio(out / real.audio_path)
        b, _ = read_audio(out / fake.audio_path)
        changed = np.flatnonzero(a != b)
        start, stop = (round(t * 32000) for t in (fake.segments[0][0], fake.segments[-1][1]))
        assert changed.min() >= start and changed.max() < stop
        assert 1.0 <= fake.segments[-1][1] - fake.segments[0][0] <= 4.0
        assert fake.caption == real.caption and fake.extra["region_from"] in ("energy-fallback", "random-fallback")


def test_unknown_recipe_and_missing_sources_are_one_line_errors(tmp_path, capsys):
    assert main(["build", "--sources", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "none.jsonl: source manifest not found" in err and err.count("\n") == 1
