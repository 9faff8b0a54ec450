"""The detector's jobs as library calls on their requests (what the CLI and the Prefect flows run)."""

from __future__ import annotations

from typing import Any

from detector.config import BenchmarkRequest, TrainRequest


def train_job(request: TrainRequest) -> dict[str, Any]:
    """Train as ``request`` says; returns the metrics written to ``out/metrics.json``."""
    import detector

    model, config = request.configs()
    return detector.train(request.corpus, request.out, model, config, resume=request.resume)


def benchmark_job(request: BenchmarkRequest) -> dict[str, Any]:
    """Benchmark as ``request`` says; returns the results written to ``out/results.json``."""
    import detector
    from detector.benchmark import DEFAULT_CONDITIONS

    conditions = [c for spec in request.conditions for c in spec.split(",") if c]
    if conditions == ["default"]:
        conditions = list(DEFAULT_CONDITIONS)
    return detector.run_benchmark(request.checkpoints or [], request.manifests or [], request.out,
                                  threshold=request.threshold, n_boot=request.n_boot, device=request.device,
                                  human_answers=request.human_answers or (), audio_root=request.audio_root,
                                  split=request.split, conditions=conditions, probes=request.probes,
                                  protocol=request.protocol)
