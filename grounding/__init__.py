"""grounding stage: the key region of each clip, from grounding results or an energy fallback."""

from grounding.energy import energy_regions
from grounding.region import RegionPolicy, clip_rng, select_region, shape_region
from grounding.results import GroundingResult, dump_grounding, load_grounding, write_grounding

__all__ = [
    "GroundingResult",
    "RegionPolicy",
    "clip_rng",
    "dump_grounding",
    "energy_regions",
    "load_grounding",
    "select_region",
    "shape_region",
    "write_grounding",
]
