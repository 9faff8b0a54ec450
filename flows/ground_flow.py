"""The ``ground-sources`` flow: a source manifest -> phrase-level grounding results (and, optionally, their scores).
Its parameters are :class:`grounding.GroundRequest`'s fields (a test holds them equal to ``fakesound ground``'s)."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from grounding.job import Backend, GroundRequest, ground_job

G = GroundRequest  # defaults are read from the request


@task(name="ground-clips")
def ground_task(request: GroundRequest) -> dict[str, Any]:
    return ground_job(request)


@flow(name="ground-sources")
def ground_sources_flow(
    out: str,
    sources: str | None = G.sources,
    backend: Backend = G.backend,
    model: str = G.model,
    threshold: float = G.threshold,
    median_window: int = G.median_window,
    device: str = G.device,
    eval_labels: str | None = G.eval_labels,
) -> dict[str, Any]:
    """Ground every clip of ``sources`` into ``out``; with ``eval_labels``, also score it (segment/event F1).

    With ``eval_labels`` the TAG model grounds the labels' own phrases (clips without labels: their caption's).
    """
    request = GroundRequest(out=out, sources=sources, backend=backend, model=model, threshold=threshold,
                            median_window=median_window, device=device, eval_labels=eval_labels)
    result = ground_task(request)
    logger = get_run_logger()
    for rejection in result["rejected"]:
        logger.warning("rejected %s: %s", rejection["item"], rejection["reason"])
    logger.info("%d clips grounded into %s, %d rejected", result["clips"], out, len(result["rejected"]))
    report = result["evaluation"]
    if report is not None:
        rows = [{"view": view, "segment_f1": report[view]["segment"]["f1"], "event_f1": report[view]["event"]["f1"]}
                for view in ("clip", "phrase") if report[view] is not None]
        create_table_artifact(table=rows, key="grounding-eval", description=f"{out} against {eval_labels}")
    return result
