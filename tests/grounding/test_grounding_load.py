"""Reading grounding results: both file forms, FakeSound metadata, malformed files."""

from __future__ import annotations

import json

import pytest

from grounding import GroundingResult, load_grounding, write_grounding
from pipeline.fakesound_format import read_fakesound_json


def test_phrase_level_round_trip(tmp_path):
    results = {
        "clipA": [
            GroundingResult("clipA", "a dog barks", [(1.0, 2.5), (6.0, 6.4)], 0.9),
            GroundingResult("clipA", "a car passes", [], None),
        ],
        "clipB": [GroundingResult("clipB", "rain falls", [(0.0, 10.0)], 0.25)],
    }
    path = write_grounding(tmp_path / "grounding.json", results)
    assert load_grounding(path) == results
    raw = json.loads(path.read_text())
    assert raw["clipA"][0] == {"phrase": "a dog barks", "segments": [[1.0, 2.5], [6.0, 6.4]], "score": 0.9}
    assert "score" not in raw["clipA"][1]


def test_region_per_clip_mapping(tmp_path):
    path = tmp_path / "regions.json"
    path.write_text(json.dumps({"x1": [8.28, 9.96], "x2": [0, 4]}))
    loaded = load_grounding(path)
    assert loaded == {
        "x1": [GroundingResult("x1", "", [(8.28, 9.96)])],
        "x2": [GroundingResult("x2", "", [(0.0, 4.0)])],
    }
    assert all(isinstance(v, float) for r in loaded["x2"] for s in r.segments for v in s)


@pytest.mark.parametrize("split", ["easy", "hard"])
def test_fakesound_metadata_gives_region_per_source(fixtures_dir, split):
    path = fixtures_dir / "fakesound_meta" / f"{split}.json"
    loaded = load_grounding(path)
    fakes = [r for r in read_fakesound_json(path) if r.is_fake]
    assert sum(len(v) for v in loaded.values()) == len(fakes)
    for record in fakes:
        assert GroundingResult(record.source_id, "", record.segments) in loaded[record.source_id]
    # the first easy entry is 9IIa7qH29ps_6.12_7.4 -> source 9IIa7qH29ps, region (6.12, 7.4)
    if split == "easy":
        assert loaded["9IIa7qH29ps"] == [GroundingResult("9IIa7qH29ps", "", [(6.12, 7.4)])]
        assert "9IIa7qH29ps_6.12_7.4" not in loaded


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "cannot read grounding JSON"),
        ("[1, 2]", "must be an object"),
        (json.dumps({"c": [1.0]}), "not an [onset, offset] pair"),
        (json.dumps({"c": ["a", "b"]}), "not a finite number"),
        (json.dumps({"c": [{"phrase": "x"}]}), "not an object with 'segments'"),
        (json.dumps({"c": [{"phrase": "x", "segments": [[1, 2, 3]]}]}), "segment 0"),
        (json.dumps({"c": [{"phrase": 3, "segments": []}]}), "'phrase' is not a string"),
        (json.dumps({"c": [{"phrase": "x", "segments": [[1, 2]], "score": "high"}]}), "score"),
        (json.dumps({"audios": [{"audio_id": "a"}]}), "malformed"),
    ],
)
def test_malformed_file_names_file_and_reason(tmp_path, text, reason):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError) as err:
        load_grounding(path)
    assert str(path) in str(err.value) and reason in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"missing\.json"):
        load_grounding(tmp_path / "missing.json")
