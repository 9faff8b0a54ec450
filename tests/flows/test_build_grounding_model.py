"""``build --grounding-model``: each clip grounded while building (TAG model or energy), loaded before any clip."""

from __future__ import annotations

import json

import huggingface_hub.constants
import pytest
from tiny_models import tag_checkpoint

from flows.cli import main
from pipeline.compose import compose_demo_sources
from pipeline.manifest import read_manifest

FALLBACKS = {"energy-fallback", "random-fallback"}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return compose_demo_sources(tmp_path_factory.mktemp("demo"), 4, seed=5)[0]


def _fakes(out):
    return {r.source_id: r for r in read_manifest(out / "manifest.jsonl") if r.label == 1}


def test_tag_model_on_the_fly_equals_grounding_first(sources, tmp_path):
    folder = tag_checkpoint(tmp_path)
    common = ["--sources", str(sources), "--seed", "3", "--device", "cpu", "--quiet"]
    assert main(["build", *common, "--out", str(tmp_path / "fly"), "--grounding-model", str(folder)]) == 0
    fly = _fakes(tmp_path / "fly")
    assert len(fly) == 4
    assert {r.extra["region_from"] for r in fly.values()} <= {"grounding:longest", *FALLBACKS}
    assert any(r.extra["region_from"] == "grounding:longest" for r in fly.values())  # the model did ground
    summary = json.loads((tmp_path / "fly" / "summary.json").read_text())
    assert summary["grounding_model"]["model"] == str(folder) and summary["grounding_model"]["backend"] == "tag"
    assert summary["request"]["grounding_model"] == "tag"  # a local folder is recorded by name

    # the same model run first by `fakesound ground`, its results given to the build: the same regions
    grounded = tmp_path / "g.json"
    assert main(["ground", "--sources", str(sources), "--out", str(grounded), "--model", str(folder),
                 "--device", "cpu"]) == 0
    assert main(["build", *common, "--out", str(tmp_path / "file"), "--grounding", str(grounded)]) == 0
    from_file = _fakes(tmp_path / "file")
    for source_id, fake in fly.items():
        other = from_file[source_id]
        if fake.extra["region_from"] in FALLBACKS:  # the model found nothing: the file holds no segment for it
            assert other.extra["region_from"] == "grounding:longest" or other.segments == fake.segments
        else:
            assert fake.segments == other.segments, source_id


def test_energy_on_the_fly_and_the_job_key(sources, tmp_path):
    out = tmp_path / "energy"
    assert main(["build", "--sources", str(sources), "--out", str(out), "--grounding-model", "energy",
                 "--quiet"]) == 0
    assert {r.extra["region_from"] for r in _fakes(out).values()} <= {"grounding:longest", *FALLBACKS}
    plain = tmp_path / "plain"
    assert main(["build", "--sources", str(sources), "--out", str(plain), "--quiet"]) == 0
    keyed = {p.name for p in (out / ".records").iterdir()}
    assert keyed and keyed.isdisjoint(p.name for p in (plain / ".records").iterdir())  # grounding is in the key


def test_missing_checkpoint_stops_the_build_before_any_clip(sources, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    out = tmp_path / "corpus"
    assert main(["build", "--sources", str(sources), "--out", str(out), "--grounding-model", "tag", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "wsntxxn/cnn8rnn-laionclap-audiocapsv2-grounding" in err, err
    assert not list(out.rglob("*.wav")) and not (out / "manifest.jsonl").exists()
