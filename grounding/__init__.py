"""grounding stage: the key region of each clip, from grounding results or an energy fallback."""

from grounding.energy import energy_regions
from grounding.region import RegionPolicy, clip_rng, select_region, shape_region
from grounding.results import GroundingResult, dump_grounding, load_grounding, write_grounding
from grounding.source import GroundedRegions, region_source

__all__ = [
    "GroundedRegions",
    "GroundingResult",
    "RegionPolicy",
    "clip_rng",
    "dump_grounding",
    "energy_regions",
    "load_grounding",
    "region_source",
    "select_region",
    "shape_region",
    "write_grounding",
]
