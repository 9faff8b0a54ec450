"""ground_sources: a tiny TAG checkpoint and the energy fallback over demo clips, rejections, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_models import tag_checkpoint

from grounding import RegionPolicy, load_grounding, select_region
from grounding.ground import GroundConfig, ground_sources
from grounding.phrases import extract_phrases
from grounding.tag_grounder import TagGrounder
from pipeline.audio_io import read_audio
from pipeline.manifest import read_manifest, write_manifest


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return tag_checkpoint(tmp_path_factory.mktemp("tagckpt"))


def test_tag_backend_writes_phrase_results_the_build_reads(demo_sources, tiny_folder, tmp_path):
    manifest, _ = demo_sources
    out = tmp_path / "grounding.json"
    seen = []
    outcome = ground_sources(manifest, out, model=str(tiny_folder), device="cpu", threshold=0.5, on_clip=seen.append)
    records = read_manifest(manifest)
    assert outcome.clips == len(records) == len(seen) == 4 and not outcome.rejected
    assert outcome.audio_seconds == pytest.approx(40.0)
    results = load_grounding(out)
    grounder = TagGrounder.from_pretrained(tiny_folder, device="cpu")
    for record in records:
        phrases = extract_phrases(record.caption)
        assert [r.phrase for r in results[record.id]] == phrases
        audio, sr = read_audio(manifest.parent / record.audio_path)
        probs = grounder.frame_probabilities(audio, sr, phrases)
        assert probs.shape == (len(phrases), 250)
        for result, p in zip(results[record.id], probs, strict=True):
            assert result.score == pytest.approx(float(p.max()))
            on = np.zeros(250, dtype=bool)
            for a, b in result.segments:
                assert 0 <= a < b <= 10.0
                on[round(a / 0.04) : round(b / 0.04)] = True
            np.testing.assert_array_equal(on, p > 0.5)
        region, how = select_region(record.id, 10.0, results[record.id], RegionPolicy(phrase_choice="score"), 0)
        assert how == "grounding:score" and 1.0 <= region[1] - region[0] <= 4.0
    again = tmp_path / "again.json"
    ground_sources(manifest, again, model=str(tiny_folder), device="cpu")
    assert again.read_bytes() == out.read_bytes()


def test_bad_clip_is_rejected_and_the_rest_carry_on(demo_sources, tmp_path):
    manifest, _ = demo_sources
    records = read_manifest(manifest)
    records[1].audio_path = str(tmp_path / "gone.flac")
    records[2].caption = " . "
    broken = write_manifest(manifest.parent / "broken.jsonl", records)
    outcome = ground_sources(broken, tmp_path / "g.json", backend="energy")
    assert outcome.clips == 4 - 1  # the energy fallback does not need a caption
    assert [r.reason for r in outcome.rejected] == ["file not found"]
    rejected = (tmp_path / "g.rejected.jsonl").read_text().splitlines()
    assert json.loads(rejected[0])["stage"] == "ground"
    assert set(load_grounding(tmp_path / "g.json")) == {records[i].id for i in (0, 2, 3)}


def test_tag_rejects_caption_without_phrase(demo_sources, tiny_folder, tmp_path):
    manifest, _ = demo_sources
    records = read_manifest(manifest)
    records[0].caption = " . "
    broken = write_manifest(manifest.parent / "no_caption.jsonl", records)
    outcome = ground_sources(broken, tmp_path / "g.json", model=str(tiny_folder), device="cpu")
    assert outcome.clips == 3 and outcome.rejected[0].reason == "caption yields no phrase to ground"


def test_energy_backend_has_no_phrases(demo_sources, tmp_path):
    manifest, _ = demo_sources
    ground_sources(manifest, tmp_path / "e.json", backend="energy")
    results = load_grounding(tmp_path / "e.json")
    assert all(len(v) == 1 and v[0].phrase == "" and v[0].score is None for v in results.values())
    assert any(v[0].segments for v in results.values())


def test_settings_are_checked():
    with pytest.raises(ValueError, match="backend"):
        GroundConfig(backend="magic")
    with pytest.raises(ValueError, match="median_window"):
        GroundConfig(median_window=2)
    with pytest.raises(TypeError):
        ground_sources("x.jsonl", "y.json", thresold=0.3)


def test_importing_the_stage_loads_no_torch():
    import subprocess
    import sys

    code = "import sys, grounding; print('torch' in sys.modules or 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _raise_interrupt(clip_id):
    raise KeyboardInterrupt


def test_interrupted_run_resumes_and_ends_byte_identical(demo_sources, tiny_folder, tmp_path):
    manifest, _ = demo_sources
    whole = tmp_path / "whole.json"
    ground_sources(manifest, whole, model=str(tiny_folder), device="cpu")
    out, partial = tmp_path / "cut.json", tmp_path / "cut.json.partial.jsonl"

    def interrupted_run(**settings):
        calls = []

        def stop_at_third(clip_id):
            calls.append(clip_id)
            if len(calls) == 3:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            ground_sources(manifest, out, model=str(tiny_folder), device="cpu", on_clip=stop_at_third, **settings)
        assert not out.exists() and len(partial.read_text().splitlines()) == 3

    interrupted_run()
    other = ground_sources(manifest, out, model=str(tiny_folder), device="cpu", threshold=0.6)
    assert other.reused == 0 and not partial.exists()  # other settings: nothing reused
    out.unlink()
    interrupted_run()
    with open(partial, "a") as fh:
        fh.write('{"key": "torn')  # a line cut by a kill
    with pytest.raises(KeyboardInterrupt):  # the entry written after the torn line must stay readable
        ground_sources(manifest, out, model=str(tiny_folder), device="cpu", on_clip=_raise_interrupt)
    again = []
    outcome = ground_sources(manifest, out, model=str(tiny_folder), device="cpu", on_clip=again.append)
    assert outcome.reused == 4 and again == [] and outcome.clips == 4
    assert out.read_bytes() == whole.read_bytes() and not partial.exists()


def test_queries_replace_caption_phrases(demo_sources, tiny_folder, tmp_path):
    manifest, _ = demo_sources
    records = read_manifest(manifest)
    queries = {records[0].id: ["a dog barks", "a dog barks", "rain falls"]}
    ground_sources(manifest, tmp_path / "q.json", model=str(tiny_folder), device="cpu", queries=queries)
    results = load_grounding(tmp_path / "q.json")
    assert [r.phrase for r in results[records[0].id]] == ["a dog barks", "rain falls"]
    assert [r.phrase for r in results[records[1].id]] == extract_phrases(records[1].caption)
