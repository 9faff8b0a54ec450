"""Grounding as the build engine's region source (:class:`pipeline.interfaces.RegionSource`).

A clip's region comes from, in order: a grounding results file (``build --grounding``); the grounder run on the
fly (``build --grounding-model``: the TAG model or the energy backend, on the clip's caption); the energy fallback
(then a seeded random region) when neither gives it a segment. ``region_from`` in the manifest says which:
``grounding:<choice>``, ``energy-fallback`` or ``random-fallback``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grounding.ground import DEFAULT_TAG_MODEL, GroundConfig, clip_grounder
from grounding.region import select_region
from grounding.results import GroundingResult, load_grounding
from pipeline.errors import RejectedInput
from pipeline.interfaces import RegionPolicy
from pipeline.manifest import REAL, ClipRecord
from pipeline.timemath import Segment

#: ``(clip_id, caption, audio, sample_rate) -> results`` of one clip, grounded now.
Grounder = Callable[[str, str, np.ndarray, int], list[GroundingResult]]
#: ``grounding_model`` values that are not checkpoints.
TAG, ENERGY = "tag", "energy"


@dataclass(frozen=True)
class GroundedRegions:
    """Regions from grounding results where a clip has them, else from ``ground`` (on the fly) when given, else from
    the energy fallback, shaped by ``policy``. A clip the grounder finds nothing in (no phrase above the threshold,
    or a caption without a phrase) takes the fallback, as a clip without grounding does."""

    policy: RegionPolicy
    results: Mapping[str, list[GroundingResult]] = field(default_factory=dict)
    ground: Grounder | None = None

    def region(self, clip_id: str, audio: np.ndarray, sample_rate: int, seed: int,
               caption: str = "") -> tuple[Segment, str]:
        results = self.results.get(clip_id)
        if results is None and self.ground is not None:
            try:
                results = [r for r in self.ground(clip_id, caption, audio, sample_rate) if r.segments] or None
            except RejectedInput:  # the caption yields no phrase to ground: nothing found
                results = None
        return select_region(clip_id, len(audio) / sample_rate, results, self.policy, seed,
                             audio=audio, sample_rate=sample_rate)


def grounder_settings(grounding_model: str) -> dict[str, Any]:
    """The on-the-fly grounding a build's ``grounding_model`` names, as JSON-able settings (they key the build's
    jobs): ``"energy"``: the energy backend; ``"tag"``: the default TAG checkpoint; anything else: a TAG checkpoint
    (hub id or local folder). Threshold and median filter are :class:`GroundConfig`'s. ``uses_models`` tells the
    engine that the result depends on the device it runs on."""
    if grounding_model == ENERGY:
        config = GroundConfig(backend=ENERGY)
        settings = {"backend": ENERGY}
    else:
        config = GroundConfig(backend=TAG, model=DEFAULT_TAG_MODEL if grounding_model == TAG else grounding_model)
        settings = {k: v for k, v in asdict(config).items() if k != "device"}
    return {**settings, "uses_models": config.backend == TAG}


def check_grounder(settings: Mapping[str, Any] | None, grounding_path: str | Path | None = None) -> None:
    """Start-up check (loads nothing) that the on-the-fly grounding model can be had; nothing to check when a
    results file is given (it wins) or the backend needs no weights."""
    if settings is None or grounding_path or settings.get("backend") != TAG:
        return
    from pipeline.checkpoints import check_available  # not grounding.tag_checkpoint: it would import torch

    check_available(str(settings["model"]), "config.json",
                    local="a local folder holding config.json, model.safetensors and the tokenizer files")


def on_the_fly_grounder(settings: Mapping[str, Any], device: str = "auto") -> Grounder:
    """The grounder ``settings`` describe, loaded now (a missing checkpoint fails here, before any clip).

    Calls are serialised: one loaded model serves every thread of the process (its phrase cache is not
    thread-safe, and a second copy would double the memory).
    """
    config = GroundConfig(**{k: v for k, v in settings.items() if k != "uses_models"}, device=device)
    ground = clip_grounder(config)
    lock = threading.Lock()

    def run(clip_id: str, caption: str, audio: np.ndarray, sample_rate: int) -> list[GroundingResult]:
        with lock:
            return ground(ClipRecord(clip_id, REAL, "", caption=caption), audio, sample_rate)

    return run


def region_source(grounding_path: str | Path | None, policy: RegionPolicy,
                  grounding: Mapping[str, Any] | None = None, device: str = "auto") -> GroundedRegions:
    """The region source of a build: ``grounding_path`` (a results file), else ``grounding`` (settings from
    :func:`grounder_settings`: ground on the fly), else the energy fallback for every clip."""
    ground = on_the_fly_grounder(grounding, device) if grounding is not None and not grounding_path else None
    return GroundedRegions(policy, load_grounding(grounding_path) if grounding_path else {}, ground)
