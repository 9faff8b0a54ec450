"""Prefect flows ``train-detector`` and ``benchmark-detector``: thin wrappers over :mod:`detector.jobs`.

Their parameters are the fields of :class:`detector.config.TrainRequest` / :class:`BenchmarkRequest` (same names
and defaults as the CLI's options). Results are published as Prefect artifacts when (and only when) the code runs
inside a flow run.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any, Literal

from prefect import flow, task
from prefect.context import FlowRunContext

from detector.config import BACKEND_NAMES, BenchmarkRequest, TrainRequest
from flows.artifacts import Device, artifact_key

T, B = TrainRequest, BenchmarkRequest  # defaults are read from the requests (written once, there)
#: How often the training flow looks at the trainer's metrics.json.
WATCH_EVERY_S = 5.0
Backend = Literal[BACKEND_NAMES]  # type: ignore[valid-type]  # the UI offers the back-ends; a typo is refused


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
def train_detector(corpus: str, out: str, model: Backend = T.model, frontend: str = T.frontend,
                   freeze_frontend: bool = T.freeze_frontend, envelope_norm: str = T.envelope_norm,
                   epochs: int = T.epochs, seed: int = T.seed,
                   batch_size: int = T.batch_size, lr: float = T.lr, augment: bool = T.augment,
                   resume: bool = T.resume, holdout_manipulation: str | None = T.holdout_manipulation,
                   threshold_rule: str = T.threshold_rule, device: Device = T.device) -> dict[str, Any]:
    """Train a detector on a corpus folder; publishes the per-epoch history as a table artifact."""
    request = TrainRequest(corpus=corpus, out=out, model=model, frontend=frontend, freeze_frontend=freeze_frontend,
                           envelope_norm=envelope_norm, epochs=epochs, seed=seed, batch_size=batch_size, lr=lr,
                           augment=augment, resume=resume,
                           holdout_manipulation=holdout_manipulation, threshold_rule=threshold_rule, device=device)
    if not _in_flow():
        return train_task.fn(request)
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    metrics = _watch_training(train_task.submit(request), request)
    create_table_artifact(table=metrics.get("history", []), key=artifact_key("training-history", out),
                          description=f"validation history of {out}")
    best = {k: v for k, v in metrics.get("best_val", {}).items() if k != "metrics"}
    text = f"# Detector {out}\n\nBest epoch:\n\n```json\n{json.dumps(best, indent=2)}\n```"
    create_markdown_artifact(markdown=text, key=artifact_key("training-best", out))
    return metrics


def _watch_training(future: Any, request: TrainRequest, every_s: float = WATCH_EVERY_S) -> dict[str, Any]:
    """Publish progress (epochs done) and the latest validation row while the training task runs: the trainer
    rewrites ``metrics.json`` after every epoch."""
    from prefect import get_run_logger
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    metrics_file = Path(request.out) / "metrics.json"
    progress = create_progress_artifact(progress=0.0, key=artifact_key("training-progress", request.out),
                                        description=f"epochs of {request.out} done (%)")
    logged = 0  # history rows already logged: every epoch gets its line even when several finish between polls
    while True:
        finished = future.state.is_final()
        try:
            summary = json.loads(metrics_file.read_text())
        except (OSError, ValueError):
            summary = {}
        history = summary.get("history") or []
        if len(history) > logged:
            done = summary.get("epochs_done", len(history))
            update_progress_artifact(artifact_id=progress, progress=min(100.0, 100.0 * done / request.epochs))
            for row in history[logged:]:
                get_run_logger().info("epoch %s: %s", row.get("epoch", "?"), json.dumps(row))
            logged = len(history)
        if finished:
            return future.result()
        time.sleep(every_s)


@flow(name="benchmark-detector")
def benchmark_detector(out: str, checkpoints: list[str] | None = B.checkpoints,
                       manifests: list[str] | None = B.manifests, human_answers: list[str] | None = B.human_answers,
                       threshold: float | None = B.threshold, n_boot: int = B.n_boot,
                       device: Device = B.device, audio_root: str | None = B.audio_root, split: str = B.split,
                       conditions: list[str] = B.conditions, probes: bool = B.probes,
                       protocol: str = B.protocol) -> dict[str, Any]:
    """Evaluate checkpoints on test manifests and/or listening-test answer files ("humans" rows); publishes
    results.md, the table and the figures as artifacts."""
    request = BenchmarkRequest(out=out, checkpoints=checkpoints, manifests=manifests, human_answers=human_answers,
                               threshold=threshold, n_boot=n_boot, device=device, audio_root=audio_root,
                               split=split, conditions=list(conditions), probes=probes, protocol=protocol)
    results = _run(benchmark_task, request)
    if _in_flow():
        from prefect.artifacts import create_markdown_artifact, create_table_artifact

        create_markdown_artifact(markdown=(Path(out) / "results.md").read_text(), key=artifact_key("benchmark", out))
        create_table_artifact(
            table=[{"system": r["system"], "manifest": r["manifest"], "split": r["split"],
                    "condition": r["condition"], "group": r["group"],
                    **{k: r["metrics"].get(k, {}).get("value")
                       for k in ("eer", "auc", "fpr", "seg_f1_1s", "seg_f1_20ms", "event_f1")}}
                   for r in results["rows"]],
            key=artifact_key("benchmark-table", out),
        )
        figures = figures_markdown(Path(out))
        if figures:
            create_markdown_artifact(markdown=figures, key=artifact_key("benchmark-figures", out),
                                     description=f"figures of {out}")
    return results


def figures_markdown(folder: Path, names: tuple[str, ...] = ("det_roc.png", "localisation.png")) -> str:
    """The benchmark's figures inside one markdown artifact, each embedded as a data URI: a ``file://`` link (an
    image artifact) points at the server's disk, which the browser showing the UI cannot read."""
    parts = [f"## {name}\n\n![{name}](data:image/png;base64,{base64.b64encode((folder / name).read_bytes()).decode()})"
             for name in names if (folder / name).is_file()]
    return "\n\n".join([f"# Figures of {folder}", *parts]) if parts else ""
