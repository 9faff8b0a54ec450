"""The ``ground-sources`` flow: a source manifest -> phrase-level grounding results (and, optionally, their scores)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

import grounding

_DEFAULTS = grounding.GroundConfig()


@task(name="ground-clips")
def ground_task(sources: str, out: str, settings: dict[str, Any], eval_labels: str | None) -> dict[str, Any]:
    config = grounding.GroundConfig(**settings)
    queries = grounding.reference_queries(eval_labels) if eval_labels and config.backend == "tag" else None
    outcome = grounding.ground_sources(sources, out, config, queries=queries)
    return {"out": str(outcome.results_path), "clips": outcome.clips, "audio_seconds": outcome.audio_seconds,
            "wall_seconds": outcome.wall_seconds, "rejected": [asdict(r) for r in outcome.rejected]}


@flow(name="ground-sources")
def ground_sources_flow(
    sources: str,
    out: str,
    backend: str = _DEFAULTS.backend,
    model: str = _DEFAULTS.model,
    threshold: float = _DEFAULTS.threshold,
    median_window: int = _DEFAULTS.median_window,
    device: str = _DEFAULTS.device,
    eval_labels: str | None = None,
) -> dict[str, Any]:
    """Ground every clip of ``sources`` into ``out``; with ``eval_labels``, also score it (segment/event F1).

    With ``eval_labels`` the TAG model grounds the labels' own phrases (clips without labels: their caption's).
    """
    settings = {"backend": backend, "model": model, "threshold": threshold, "median_window": median_window,
                "device": device}
    result = ground_task(sources, out, settings, eval_labels)
    get_run_logger().info("%d clips grounded into %s, %d rejected", result["clips"], out, len(result["rejected"]))
    if eval_labels:
        report = grounding.evaluate_grounding(eval_labels, out)
        rows = [{"view": view, "segment_f1": report[view]["segment"]["f1"], "event_f1": report[view]["event"]["f1"]}
                for view in ("clip", "phrase") if report[view] is not None]
        create_table_artifact(table=rows, key="grounding-eval", description=f"{out} against {eval_labels}")
        result["evaluation"] = report
    return result
