"""grounding stage: the key region of each clip, from grounding results, the TAG model, or an energy fallback.

Light to import: the TAG model (torch, transformers) loads only when a ``"tag"`` grounding runs.
"""

from grounding.energy import energy_regions
from grounding.evaluate import EvalConfig, evaluate_grounding, format_evaluation, reference_queries
from grounding.ground import DEFAULT_TAG_MODEL, GroundConfig, GroundOutcome, clip_grounder, ground_sources
from grounding.job import GroundRequest, ground_job
from grounding.phrases import extract_phrases
from grounding.region import RegionPolicy, clip_rng, select_region, shape_region
from grounding.results import GroundingResult, dump_grounding, load_grounding, write_grounding
from grounding.source import GroundedRegions, region_source

__all__ = [
    "DEFAULT_TAG_MODEL",
    "EvalConfig",
    "GroundConfig",
    "GroundOutcome",
    "GroundRequest",
    "GroundedRegions",
    "GroundingResult",
    "RegionPolicy",
    "clip_grounder",
    "clip_rng",
    "dump_grounding",
    "energy_regions",
    "evaluate_grounding",
    "extract_phrases",
    "format_evaluation",
    "ground_job",
    "ground_sources",
    "load_grounding",
    "reference_queries",
    "region_source",
    "select_region",
    "shape_region",
    "write_grounding",
]
