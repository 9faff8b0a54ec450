import json

import pytest

from pipeline.fakesound_format import (
    dumps_fakesound_json,
    fakesound_audio_id,
    read_fakesound2_jsonl,
    read_fakesound_json,
    write_fakesound_json,
)
from pipeline.manifest import ClipRecord, read_manifest, write_manifest

SPLITS = {"train": 3166, "easy": 92, "hard": 270, "zeroshot": 270}


@pytest.mark.parametrize("split", sorted(SPLITS))
def test_real_fakesound_metadata_round_trips_exactly(split, fixtures_dir, tmp_path):
    path = fixtures_dir / "fakesound_meta" / f"{split}.json"
    records = read_fakesound_json(path)
    assert len(records) == SPLITS[split]
    assert sum(r.label for r in records) == SPLITS[split] // 2  # label 1 = fake, half of each file
    # through our own JSONL manifest and back
    write_manifest(tmp_path / "m.jsonl", records)
    out = write_fakesound_json(tmp_path / f"{split}.json", read_manifest(tmp_path / "m.jsonl"))
    assert json.loads(out.read_text()) == json.loads(path.read_text())
    assert out.read_text().strip() == path.read_text().strip()  # same bytes as FakeSound ships


def test_fakesound_import_parses_regions_and_sources(fixtures_dir):
    records = read_fakesound_json(fixtures_dir / "fakesound_meta" / "easy.json")
    fake, real = records[0], records[1]
    assert fake.label == 1 and fake.segments == [(6.12, 7.4)] and fake.source_id == "9IIa7qH29ps"
    assert real.label == 0 and real.segments == [] and real.source_id == "9IIa7qH29ps"
    assert fake.split == "easy"
    assert fakesound_audio_id("9IIa7qH29ps", (6.12, 7.4)) == fake.id
    # every fake region lies on FakeSound's 40 ms grid
    for r in records:
        for a, b in r.segments:
            assert abs(a / 0.04 - round(a / 0.04)) < 1e-6 and abs(b / 0.04 - round(b / 0.04)) < 1e-6


def test_multi_segment_fakes_round_trip_and_show_their_outer_span(tmp_path):
    multi = ClipRecord(id="x_1.0_4.02", label=1, audio_path="x.wav", source_id="x", segments=[(1.0, 2.0), (3.0, 4.02)])
    single = ClipRecord(id="y_1.0_2.0", label=1, audio_path="y.wav", source_id="y", segments=[(1.0, 2.0)])
    real = ClipRecord(id="x", label=0, audio_path="r.wav", source_id="x")
    entries = json.loads(dumps_fakesound_json([multi, single, real]))["audios"]
    assert entries[0] == {"audio_id": "x_1.0_4.02", "label": 1, "onset_offset": "1.0_4.02", "filepath": "x.wav",
                          "segments": [[1.0, 2.0], [3.0, 4.02]]}  # FakeSound's tools read the outer span
    assert "segments" not in entries[1] and "segments" not in entries[2]  # FakeSound's own layout otherwise
    back = read_fakesound_json(write_fakesound_json(tmp_path / "test.json", [multi, single, real]))
    assert [(r.id, r.source_id, r.segments) for r in back] == [
        ("x_1.0_4.02", "x", [(1.0, 2.0), (3.0, 4.02)]), ("y_1.0_2.0", "y", [(1.0, 2.0)]), ("x", "x", [])]


def test_fakesound_segments_must_fit_the_onset_offset(tmp_path):
    entry = {"audio_id": "x_1.0_4.0", "label": 1, "onset_offset": "1.0_4.0", "filepath": "x.wav",
             "segments": [[1.0, 2.0], [3.0, 3.5]]}
    (tmp_path / "bad.json").write_text(json.dumps({"audios": [entry]}))
    with pytest.raises(ValueError, match=r"bad\.json: entry 0 is malformed.*do not fit"):
        read_fakesound_json(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="without a segment"):
        dumps_fakesound_json([ClipRecord(id="z", label=1, audio_path="z.wav")])


def test_fakesound2_multi_segment_import(fixtures_dir):
    sep = read_fakesound2_jsonl(fixtures_dir / "fakesound2_meta" / "separation_flowsep.jsonl")
    first = sep[0]
    assert first.label == 1 and first.manipulation == "separation" and first.generator == "flowsep"
    assert first.segments == [(0.4, 1.6), (2.52, 5.2), (5.6, 6.48), (6.88, 8.24), (9.16, 10.0)]
    assert first.source_id == "fsBR7e_X_0Y"  # a YouTube id with underscores
    assert first.extra["delete_event"] == "a child yelling"
    genuine = read_fakesound2_jsonl(fixtures_dir / "fakesound2_meta" / "genuine.jsonl")
    assert all(r.label == 0 and r.segments == [] for r in genuine) and len(genuine) == 964
    easy = read_fakesound2_jsonl(fixtures_dir / "fakesound2_meta" / "inpainting_fakesound1easy.jsonl")
    assert sum(r.label for r in easy) == 46 and easy[0].segments == [(6.12, 7.4)]
    assert easy[0].source_id == "9IIa7qH29ps" and easy[0].generator == "ldm2_audiosr"


def test_malformed_files_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"audios": [{"audio_id": "a"}]}')
    with pytest.raises(ValueError, match=r"bad\.json"):
        read_fakesound_json(bad)
    bad.write_text("not json")
    with pytest.raises(ValueError, match=r"bad\.json"):
        read_fakesound_json(bad)


def test_fakesound2_keeps_zero_length_segments_and_the_fake_type(tmp_path):
    meta = tmp_path / "mixed.jsonl"
    meta.write_text('{"fake_type": "splice", "model": "manually", "audio_id": "a", "onset_offset": "1.0-2.5_4.0-4.0",'
                    ' "filepath": "a.wav"}\n{"fake_type": "", "model": "x", "audio_id": "b", "onset_offset": "0-1",'
                    ' "filepath": "b.wav"}\n', encoding="utf-8")
    spliced, untyped = read_fakesound2_jsonl(meta)
    assert spliced.segments == [(1.0, 2.5), (4.0, 4.0)] and spliced.manipulation == "splice"
    assert untyped.manipulation == "unknown"
    meta.write_text('{"fake_type": "add", "model": "m", "audio_id": "c", "onset_offset": "3-2", "filepath": "c.wav"}\n')
    with pytest.raises(ValueError, match=r"mixed\.jsonl:1: .*ends before it starts"):
        read_fakesound2_jsonl(meta)
