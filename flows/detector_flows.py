"""Prefect flows ``train-detector`` and ``benchmark-detector``: thin wrappers over :mod:`detector`.

Results are published as Prefect artifacts when (and only when) the code runs inside a flow run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.context import FlowRunContext


def _in_flow() -> bool:
    return FlowRunContext.get() is not None


def _run(t: Any, *args: Any) -> Any:
    """Run ``t`` as a Prefect task inside a flow run, as a plain function otherwise (e.g. ``flow.fn`` in tests)."""
    return t(*args) if _in_flow() else t.fn(*args)


@task(name="train-detector-model")
def train_task(corpus: str, out: str, model: str, frontend: str, epochs: int, seed: int, resume: bool,
               holdout_manipulation: str | None) -> dict[str, Any]:
    from detector import DetectorConfig, TrainConfig, train

    cfg = TrainConfig(epochs=epochs, seed=seed, holdout_manipulation=holdout_manipulation)
    return train(corpus, out, DetectorConfig(model=model, frontend=frontend), cfg, resume=resume)


@task(name="benchmark-detector-checkpoints")
def benchmark_task(
    checkpoints: list[str], manifests: list[str], out: str, threshold: float | None, n_boot: int
) -> dict:
    from detector.benchmark import json_safe, run_benchmark

    return json_safe(run_benchmark(checkpoints, manifests, out, threshold=threshold, n_boot=n_boot))


@flow(name="train-detector")
def train_detector(corpus: str, out: str, model: str = "mrtcn", frontend: str = "stft", epochs: int = 12,
                   seed: int = 0, resume: bool = False, holdout_manipulation: str | None = None) -> dict[str, Any]:
    """Train a detector on a corpus folder; publishes the per-epoch history as a table artifact."""
    metrics = _run(train_task, corpus, out, model, frontend, epochs, seed, resume, holdout_manipulation)
    if _in_flow():
        from prefect.artifacts import create_markdown_artifact, create_table_artifact

        create_table_artifact(table=metrics.get("history", []), key="detector-training-history",
                              description=f"validation history of {out}")
        best = {k: v for k, v in metrics.get("best_val", {}).items() if k != "metrics"}
        text = f"# Detector {out}\n\nBest epoch:\n\n```json\n{json.dumps(best, indent=2)}\n```"
        create_markdown_artifact(markdown=text, key="detector-training-best")
    return metrics


@flow(name="benchmark-detector")
def benchmark_detector(checkpoints: list[str], manifests: list[str], out: str, threshold: float | None = None,
                       n_boot: int = 1000) -> dict[str, Any]:
    """Evaluate checkpoints on test manifests; publishes results.md, the table and the figures as artifacts."""
    results = _run(benchmark_task, checkpoints, manifests, out, threshold, n_boot)
    if _in_flow():
        from prefect.artifacts import create_image_artifact, create_markdown_artifact, create_table_artifact

        create_markdown_artifact(markdown=(Path(out) / "results.md").read_text(), key="detector-benchmark")
        create_table_artifact(
            table=[{"system": r["system"], "manifest": r["manifest"], "split": r["split"],
                    "condition": r["condition"], "group": r["group"],
                    **{k: r["metrics"].get(k, {}).get("value")
                       for k in ("eer", "auc", "fpr", "seg_f1_1s", "seg_f1_20ms", "event_f1")}}
                   for r in results["rows"]],
            key="detector-benchmark-table",
        )
        for name in ("det_roc.png", "localisation.png"):
            if (Path(out) / name).exists():
                create_image_artifact(image_url=(Path(out) / name).resolve().as_uri(), description=name)
    return results
