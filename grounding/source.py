"""Grounding as the build engine's region source (:class:`pipeline.interfaces.RegionSource`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grounding.region import select_region
from grounding.results import GroundingResult, load_grounding
from pipeline.interfaces import RegionPolicy
from pipeline.timemath import Segment


@dataclass(frozen=True)
class GroundedRegions:
    """Regions from grounding results where a clip has them, else from the energy fallback, shaped by ``policy``."""

    policy: RegionPolicy
    results: Mapping[str, list[GroundingResult]] = field(default_factory=dict)

    def region(self, clip_id: str, audio: np.ndarray, sample_rate: int, seed: int) -> tuple[Segment, str]:
        return select_region(clip_id, len(audio) / sample_rate, self.results.get(clip_id), self.policy, seed,
                             audio=audio, sample_rate=sample_rate)


def region_source(grounding_path: str | Path | None, policy: RegionPolicy) -> GroundedRegions:
    """The region source of a build: ``grounding_path`` (a results file) or None (energy fallback for every clip)."""
    return GroundedRegions(policy, load_grounding(grounding_path) if grounding_path else {})
