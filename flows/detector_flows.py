"""Prefect flows ``train-detector`` and ``benchmark-detector``: thin wrappers over :mod:`detector.jobs`.

Their parameters are the fields of :class:`detector.config.TrainRequest` / :class:`BenchmarkRequest` (same names
and defaults as the CLI's options). Results are published as Prefect artifacts when (and only when) the code runs
inside a flow run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.context import FlowRunContext

from detector.config import BenchmarkRequest, TrainRequest

T, B = TrainRequest, BenchmarkRequest  # defaults are read from the requests (written once, there)


def _in_flow() -> bool:
    return FlowRunContext.get() is not None


def _run(t: Any, *args: Any) -> Any:
    """Run ``t`` as a Prefect task inside a flow run, as a plain function otherwise (e.g. ``flow.fn`` in tests)."""
    return t(*args) if _in_flow() else t.fn(*args)


@task(name="train-detector-model")
def train_task(request: TrainRequest) -> dict[str, Any]:
    from detector.jobs import train_job

    return train_job(request)


@task(name="benchmark-detector-checkpoints")
def benchmark_task(request: BenchmarkRequest) -> dict:
    from detector.benchmark import json_safe
    from detector.jobs import benchmark_job

    return json_safe(benchmark_job(request))


@flow(name="train-detector")
def train_detector(corpus: str, out: str, model: str = T.model, frontend: str = T.frontend,
                   freeze_frontend: bool = T.freeze_frontend, epochs: int = T.epochs, seed: int = T.seed,
                   batch_size: int = T.batch_size, lr: float = T.lr, augment: bool = T.augment,
                   resume: bool = T.resume, holdout_manipulation: str | None = T.holdout_manipulation,
                   threshold_rule: str = T.threshold_rule, device: str = T.device) -> dict[str, Any]:
    """Train a detector on a corpus folder; publishes the per-epoch history as a table artifact."""
    request = TrainRequest(corpus=corpus, out=out, model=model, frontend=frontend, freeze_frontend=freeze_frontend,
                           epochs=epochs, seed=seed, batch_size=batch_size, lr=lr, augment=augment, resume=resume,
                           holdout_manipulation=holdout_manipulation, threshold_rule=threshold_rule, device=device)
    metrics = _run(train_task, request)
    if _in_flow():
        from prefect.artifacts import create_markdown_artifact, create_table_artifact

        create_table_artifact(table=metrics.get("history", []), key="detector-training-history",
                              description=f"validation history of {out}")
        best = {k: v for k, v in metrics.get("best_val", {}).items() if k != "metrics"}
        text = f"# Detector {out}\n\nBest epoch:\n\n```json\n{json.dumps(best, indent=2)}\n```"
        create_markdown_artifact(markdown=text, key="detector-training-best")
    return metrics


@flow(name="benchmark-detector")
def benchmark_detector(checkpoints: list[str], manifests: list[str], out: str, threshold: float | None = B.threshold,
                       n_boot: int = B.n_boot, device: str = B.device, split: str = B.split,
                       conditions: list[str] = B.conditions, probes: bool = B.probes,
                       protocol: str = B.protocol) -> dict[str, Any]:
    """Evaluate checkpoints on test manifests; publishes results.md, the table and the figures as artifacts."""
    request = BenchmarkRequest(checkpoints=checkpoints, manifests=manifests, out=out, threshold=threshold,
                               n_boot=n_boot, device=device, split=split, conditions=list(conditions),
                               probes=probes, protocol=protocol)
    results = _run(benchmark_task, request)
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
