"""Prefect flows are thin: their bodies call the detector (run here without a Prefect server)."""

from __future__ import annotations

import json

from flows.detector_flows import benchmark_detector, train_detector


def test_flow_bodies_train_and_benchmark(tiny_corpus, tmp_path, monkeypatch):
    import detector

    seen = {}

    def fake_train(corpus, out, det_cfg, cfg, resume=False):
        seen["train"] = (str(corpus), str(out), det_cfg.model, cfg.epochs, cfg.holdout_manipulation)
        return {"history": [], "best_val": {}}

    monkeypatch.setattr(detector, "train", fake_train)
    train_detector.fn(str(tiny_corpus), str(tmp_path / "ck"), model="fakesound-ref", epochs=3,
                      holdout_manipulation="vocoder")
    assert seen["train"] == (str(tiny_corpus), str(tmp_path / "ck"), "fakesound-ref", 3, "vocoder")
    assert train_detector.name == "train-detector" and benchmark_detector.name == "benchmark-detector"


def test_benchmark_flow_body_writes_results(tiny_ckpt, tiny_corpus, tmp_path):
    out = tmp_path / "bench"
    results = benchmark_detector.fn(str(out), [str(tiny_ckpt)], [str(tiny_corpus / "manifest.jsonl")], n_boot=0)
    assert json.loads((out / "results.json").read_text())["rows"] == results["rows"]
