"""The one interface every regeneration backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pipeline.timemath import Segment


@dataclass(frozen=True)
class RegionRequest:
    """Regenerate ``region`` of ``audio`` (mono float32 at ``sample_rate``) for ``caption``."""

    clip_id: str
    audio: np.ndarray
    sample_rate: int
    region: Segment
    caption: str
    seed: int


@dataclass
class RegionResult:
    """New audio for exactly the requested region, at ``sample_rate``; ``info`` goes to the manifest.

    ``changed`` is the span (seconds, absolute) that the backend actually altered when it is narrower than
    the region (an added event shorter than the region): the corpus then labels only that span, so no
    sample labelled fake is identical to the real clip.
    """

    audio: np.ndarray
    sample_rate: int
    info: dict[str, Any] = field(default_factory=dict)
    changed: Segment | None = None


@runtime_checkable
class Regenerator(Protocol):
    """(clip audio, sample rate, region, caption, seed) -> audio for the region at a stated rate."""

    #: Manipulation type written to the manifest (e.g. "splice", "addition", "vocoder", "inpainting").
    manipulation: str
    #: Generator/config name written to the manifest.
    name: str

    def regenerate(self, request: RegionRequest) -> RegionResult: ...

    def regenerate_batch(self, requests: Sequence[RegionRequest]) -> list[RegionResult]: ...


class SingleRegenerator:
    """Mixin: a backend with no batching gets ``regenerate_batch`` as a loop."""

    def regenerate(self, request: RegionRequest) -> RegionResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def regenerate_batch(self, requests: Sequence[RegionRequest]) -> list[RegionResult]:
        return [self.regenerate(r) for r in requests]


@dataclass(frozen=True)
class Donor:
    """A real recording that weight-free backends may borrow from (splice source, added event)."""

    id: str
    audio: np.ndarray
    sample_rate: int
    phrase: str
    kind: str = ""  # "event" | "background" | "" (unknown); addition prefers events
