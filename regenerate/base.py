"""The one interface every regeneration backend implements (defined by the core, in :mod:`pipeline.interfaces`)."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.interfaces import Donor, Regenerator, RegionRequest, RegionResult

__all__ = ["Donor", "Regenerator", "RegionRequest", "RegionResult", "SingleRegenerator"]


class SingleRegenerator:
    """Mixin: a backend with no batching gets ``regenerate_batch`` as a loop."""

    def regenerate(self, request: RegionRequest) -> RegionResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def regenerate_batch(self, requests: Sequence[RegionRequest]) -> list[RegionResult]:
        return [self.regenerate(r) for r in requests]
