"""One grounding job as the library, ``fakesound ground`` and the ``ground-sources`` flow all take it.

Defaults are :class:`grounding.ground.GroundConfig`'s (written there once).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from grounding.evaluate import evaluate_grounding, reference_queries
from grounding.ground import GroundConfig, ground_sources
from pipeline.atomic import atomic_write_text
from pipeline.errors import ConfigError
from pipeline.requests import Request, opt, required

Backend = Literal["tag", "energy"]


@dataclass(frozen=True)
class GroundRequest(Request):
    """Ground each clip of ``sources`` into ``out`` (resumable); with ``eval_labels`` also score ``out`` against them
    (written to ``<out stem>.eval.json``). ``eval_labels`` alone scores an existing ``out``."""

    out: str = required("grounding results JSON to write (with eval_labels and no sources: the results to score)")
    sources: str | None = opt(None, "source manifest (JSONL) to ground (unset: only score `out` against eval_labels)")
    backend: Backend = opt(GroundConfig.backend, "tag: the TAG model; energy: the energy fallback's regions")
    model: str = opt(GroundConfig.model, "TAG checkpoint: hub id or local folder (config.json, model.safetensors)")
    threshold: float = opt(GroundConfig.threshold, "frame probability above which a phrase sounds")
    median_window: int = opt(GroundConfig.median_window, "median filter length in 40 ms frames (odd)")
    device: str = opt(GroundConfig.device, "device for the TAG model: auto, cpu, cuda, cuda:1")
    eval_labels: str | None = opt(None, "score against AudioGrounding v2 labels or a known-events grounding JSON; "
                                        "with sources and the TAG model, the labels' phrases are grounded",
                                  aliases=("--eval",))

    def __post_init__(self) -> None:
        if self.sources is None and self.eval_labels is None:
            raise ConfigError("give `sources` to ground, or `eval_labels` to score an existing `out`")
        self.config  # noqa: B018 - raises ConfigError on bad settings

    @property
    def config(self) -> GroundConfig:
        return GroundConfig(backend=self.backend, model=self.model, threshold=self.threshold,
                            median_window=self.median_window, device=self.device)


def ground_job(request: GroundRequest) -> dict[str, Any]:
    """Run a :class:`GroundRequest`; returns what it did (JSON-safe): counts, speed, rejections, evaluation."""
    out = Path(request.out)
    summary: dict[str, Any] = {"out": str(out), "clips": 0, "audio_seconds": 0.0, "wall_seconds": 0.0,
                               "rejected": [], "evaluation": None}
    if request.sources is not None:
        config = request.config
        # scored runs ask the model for the labels' own phrases (the TAG protocol); clips without labels use captions
        queries = reference_queries(request.eval_labels) if request.eval_labels and config.backend == "tag" else None
        outcome = ground_sources(request.sources, out, config, queries=queries)
        summary.update(clips=outcome.clips, audio_seconds=outcome.audio_seconds, wall_seconds=outcome.wall_seconds,
                       rejected=[asdict(r) for r in outcome.rejected])
    if request.eval_labels:
        report = evaluate_grounding(request.eval_labels, out)
        atomic_write_text(out.with_name(out.stem + ".eval.json"), json.dumps(report, indent=2))
        summary["evaluation"] = report
    return summary
