"""Region regeneration backends behind one ``Regenerator`` interface."""

from regenerate.base import Donor, Regenerator, RegionRequest, RegionResult, SingleRegenerator

__all__ = ["Donor", "Regenerator", "RegionRequest", "RegionResult", "SingleRegenerator"]
