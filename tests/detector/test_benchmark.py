"""Benchmark: results table/JSON and figures for checkpoints x manifests (our JSONL and FakeSound JSON)."""

from __future__ import annotations

import json
import shutil

from detector.benchmark import run_benchmark
from flows.cli_detector import main
from pipeline.fakesound_format import write_fakesound_json
from pipeline.manifest import read_manifest


def test_benchmark_outputs(tiny_ckpt, tiny_corpus, tmp_path, capsys):
    records = [r for r in read_manifest(tiny_corpus / "manifest.jsonl") if r.split == "test"]
    fs_json = tiny_corpus / "fakesound_test.json"
    write_fakesound_json(fs_json, records)
    out = tmp_path / "bench"
    rc = main(["benchmark", "--checkpoint", str(tiny_ckpt), "--manifest", str(tiny_corpus / "manifest.jsonl"),
               str(fs_json), "--out", str(out), "--bootstrap", "50"])
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    groups = {(r["manifest"], r["split"], r["group"]) for r in results["rows"]}
    assert ("manifest.jsonl", "test", "all") in groups and ("manifest.jsonl", "train", "splice") in groups
    assert ("fakesound_test.json", "fakesound_test", "inpainting") in groups
    row = next(r for r in results["rows"] if r["group"] == "all" and r["split"] == "test")
    eer = row["metrics"]["eer"]
    assert eer["ci_low"] <= eer["value"] <= eer["ci_high"]
    assert "EER" in (out / "results.md").read_text() and "EER" in capsys.readouterr().out
    for png in ("det_roc.png", "localisation.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"


def test_benchmark_reports_unreadable_audio(tiny_ckpt, tiny_corpus, tmp_path):
    shutil.copytree(tiny_corpus / "audio", tmp_path / "audio")  # test manifests' audio stays inside their folder
    manifest = tmp_path / "m.jsonl"
    lines = (tiny_corpus / "manifest.jsonl").read_text().splitlines()[:4]
    manifest.write_text("\n".join(lines) + "\n")
    bad = json.loads(lines[0])
    bad["audio_path"] = "nowhere.wav"
    bad["id"] = "bad"
    manifest.write_text(manifest.read_text() + json.dumps(bad) + "\n")
    results = run_benchmark([tiny_ckpt], [manifest], tmp_path / "b", n_boot=0, progress=False)
    assert len(results["errors"]) == 1 and "nowhere.wav" in results["errors"][0]
