"""Benchmark: results table/JSON and figures for checkpoints x manifests (our JSONL and FakeSound JSON)."""

from __future__ import annotations

import json
import shutil

from detector.benchmark import TABLE_METRICS, run_benchmark, system_names
from detector.evaluate import POINT_METRICS
from flows.cli_detector import main
from pipeline.fakesound_format import write_fakesound_json
from pipeline.manifest import read_manifest


def test_benchmark_outputs(tiny_ckpt, tiny_corpus, tmp_path, capsys):
    records = [r for r in read_manifest(tiny_corpus / "manifest.jsonl") if r.split == "test"]
    fs_json = tiny_corpus / "fakesound_test.json"
    write_fakesound_json(fs_json, records)
    out = tmp_path / "bench"
    rc = main(["benchmark", "--checkpoint", str(tiny_ckpt), "--manifest", str(tiny_corpus / "manifest.jsonl"),
               str(fs_json), "--out", str(out), "--bootstrap", "50", "--conditions", "lowpass:2000,mp3:0.9",
               "--protocol", "fakesound"])
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    groups = {(r["system"], r["manifest"], r["split"], r["condition"], r["group"]) for r in results["rows"]}
    name = results["systems"][0]["system"]
    assert (name, "manifest.jsonl", "test", "clean", "all") in groups
    assert not any(g[2] == "train" for g in groups)  # --split test (default): no training clips pooled in
    assert (name, "fakesound_test.json", "fakesound_test", "clean", "unknown") in groups  # JSON has no type
    assert {(name, "manifest.jsonl", "test", c, "all") for c in ("lowpass:2000", "mp3:0.9")} <= groups
    assert ("probe: global-statistics", "manifest.jsonl", "test", "clean", "all") in groups
    assert ("probe: boundary", "manifest.jsonl", "test", "clean", "all") in groups
    row = next(r for r in results["rows"] if r["group"] == "all" and r["split"] == "test" and r["system"] == name)
    eer = row["metrics"]["eer"]
    assert eer["ci_low"] <= eer["value"] <= eer["ci_high"]
    assert row["threshold"] == results["systems"][0]["threshold"] != 0.5  # the checkpoint's stored threshold
    markdown = (out / "results.md").read_text()
    for _, title, _ in TABLE_METRICS:  # every point metric of results.json is in results.md
        assert title in markdown
    assert set(POINT_METRICS) == {key for key, _, _ in TABLE_METRICS}
    assert "EER" in capsys.readouterr().out and "fakesound protocol" in markdown
    assert {(r["manifest"], r["split"]) for r in results["protocol_rows"]} >= {("manifest.jsonl", "test")}
    everything = tmp_path / "bench_all"
    run_benchmark([tiny_ckpt], [tiny_corpus / "manifest.jsonl"], everything, n_boot=0, progress=False,
                  split="all", probes=False)
    splits = {r["split"] for r in json.loads((everything / "results.json").read_text())["rows"]}
    assert splits == {"train", "val", "test"}
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
    results = run_benchmark([tiny_ckpt], [manifest], tmp_path / "b", n_boot=0, progress=False, split="all")
    assert len(results["errors"]) == 1 and "nowhere.wav" in results["errors"][0]


def test_system_names_are_unique_paths(tmp_path):
    a, b = tmp_path / "x" / "run", tmp_path / "y" / "run"
    assert system_names([a, b]) == ["x/run", "y/run"]
    assert system_names([a, tmp_path / "other"]) == ["run", "other"]
