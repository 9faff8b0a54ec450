"""``fakesound ground``: the energy fallback scored on demo sources, a tiny TAG checkpoint, the offline error."""

from __future__ import annotations

import json

import huggingface_hub.constants
import pytest
from tiny_models import tag_checkpoint

from flows.cli import main
from grounding import load_grounding
from pipeline.compose import compose_demo_sources


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return compose_demo_sources(tmp_path_factory.mktemp("demo"), 3, seed=2)


def test_energy_ground_then_eval(demo, tmp_path, capsys):
    manifest, known = demo
    out = tmp_path / "energy.json"
    assert main(["ground", "--sources", str(manifest), "--out", str(out), "--backend", "energy",
                 "--eval", str(known)]) == 0
    printed = capsys.readouterr().out
    assert "3 clips grounded" in printed and "clip   (3 files): segment F1" in printed
    report = json.loads((tmp_path / "energy.eval.json").read_text())
    assert report["phrase"] is None and 0 <= report["clip"]["event"]["f1"] <= 1
    assert main(["ground", "--out", str(known), "--eval", str(known)]) == 0  # score an existing file only
    assert "segment F1 1.000" in capsys.readouterr().out


def test_tag_with_a_local_checkpoint(demo, tmp_path):
    manifest, _ = demo
    folder = tag_checkpoint(tmp_path)
    out = tmp_path / "tag.json"
    assert main(["ground", "--sources", str(manifest), "--out", str(out), "--model", str(folder),
                 "--device", "cpu", "--threshold", "0.45", "--median-window", "3"]) == 0
    results = load_grounding(out)
    assert len(results) == 3 and all(r.phrase and r.score is not None for v in results.values() for r in v)
    clip_id = sorted(results)[0]
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({clip_id: [{"phrase": "a bell rings", "segments": [[1.0, 2.0]]}]}))
    scored = tmp_path / "scored.json"
    assert main(["ground", "--sources", str(manifest), "--out", str(scored), "--model", str(folder),
                 "--device", "cpu", "--eval", str(labels)]) == 0
    assert [r.phrase for r in load_grounding(scored)[clip_id]] == ["a bell rings"]  # the labels' phrase is asked
    assert json.loads((tmp_path / "scored.eval.json").read_text())["phrase"]["files"] == 1


def test_offline_without_weights_is_one_error_line(demo, tmp_path, monkeypatch, capsys):
    manifest, _ = demo
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    assert main(["ground", "--sources", str(manifest), "--out", str(tmp_path / "g.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "wsntxxn/cnn8rnn-laionclap-audiocapsv2-grounding" in err
    assert "hf download" in err and not (tmp_path / "g.json").exists()


def test_ground_flow_runs_energy_and_eval(prefect_api, demo, tmp_path):
    from flows.ground_flow import ground_sources_flow
    from pipeline.manifest import read_manifest, write_manifest

    manifest, known = demo
    records = read_manifest(manifest)
    records[0].audio_path = str(tmp_path / "gone.flac")
    broken = write_manifest(manifest.parent / "broken_flow.jsonl", records)  # relative audio paths stay valid
    result = ground_sources_flow(sources=str(broken), out=str(tmp_path / "g.json"), backend="energy",
                                 eval_labels=str(known))
    assert result["clips"] == 2 and result["evaluation"]["clip"]["files"] == 3
    assert result["rejected"] == [{"item": str(tmp_path / "gone.flac"), "stage": "ground", "reason": "file not found"}]


def test_bad_ground_settings_are_one_line_errors(tmp_path, capsys):
    assert main(["ground", "--out", str(tmp_path / "g.json")]) == 2
    assert "give `sources` to ground, or `eval_labels`" in capsys.readouterr().err
    assert main(["ground", "--out", str(tmp_path / "g.json"), "--sources", "s.jsonl", "--median-window", "2"]) == 2
    assert "median_window must be a positive odd number" in capsys.readouterr().err
    labels = tmp_path / "labels.json"
    labels.write_text("[{}]")
    assert main(["ground", "--out", str(labels), "--eval", str(labels)]) == 2
    assert "lacks 'audio_id'" in capsys.readouterr().err
