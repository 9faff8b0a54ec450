"""Recipes: named presets (data) saying which backends, checkpoints, region policy and output rate make a corpus."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from regenerate.base import Donor, Regenerator


@dataclass(frozen=True)
class Recipe:
    """How fakes are made.

    ``backends`` are cycled over source clips (seeded), so manipulation types are spread
    across sources. ``region_min_s``/``region_max_s`` bound the grounded region (None: no bound);
    ``params`` holds backend settings (checkpoint, steps, guidance, audiosr, ...).
    ``crossfade_ms`` is the boundary treatment: 0 is FakeSound's hard splice; > 0 an equal-power crossfade of
    that length laid inside the region at both seams (the outside stays bit-identical).
    """

    name: str
    backends: tuple[str, ...]
    output_rate: int = 32000
    region_min_s: float | None = 1.0
    region_max_s: float | None = 4.0
    grid_s: float = 0.04
    phrase_choice: str = "longest"
    crossfade_ms: float = 0.0
    loudness_match: bool = False
    params: dict[str, Any] = field(default_factory=dict)

    def with_overrides(self, **overrides: Any) -> Recipe:
        """Copy with top-level fields or ``params`` keys replaced (unknown keys go to ``params``)."""
        names = {f.name for f in dataclasses.fields(self)}
        top = {k: v for k, v in overrides.items() if k in names and v is not None}
        params = {**self.params, **{k: v for k, v in overrides.items() if k not in names and v is not None}}
        return dataclasses.replace(self, **top, params=params)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: Boundary crossfade of the weight-free recipe (ms; 0 would be FakeSound's hard splice).
WEIGHT_FREE_CROSSFADE_MS = 10.0

_AUDIOLDM2 = {"checkpoint": "cvssp/audioldm2", "steps": 100, "guidance": 3.5, "eta": 1.0, "margin_s": 0.0}

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        # crossfaded seams: a hard cut between unrelated recordings is a click a detector can learn instead
        # of the manipulation (the boundary probe of `fakesound benchmark` measures it)
        Recipe("weight-free", backends=("splice", "addition", "vocoder"), loudness_match=False,
               crossfade_ms=WEIGHT_FREE_CROSSFADE_MS,
               params={"splice_match_level": True, "addition_peak_limit": True, "snr_db": (-5.0, 5.0)}),
        Recipe(
            "fakesound-train",
            backends=("audioldm2",),
            loudness_match=True,
            params={**_AUDIOLDM2, "audiosr": "haoheliu/audiosr_basic", "audiosr_steps": 50},
        ),
        Recipe(
            "fakesound-easy",
            backends=("audioldm2",),
            loudness_match=True,
            params={**_AUDIOLDM2, "audiosr": "haoheliu/audiosr_basic", "audiosr_steps": 50},
        ),
        Recipe(
            "fakesound-hard",
            backends=("audioldm2",),
            region_min_s=None,
            region_max_s=None,
            loudness_match=True,
            params={**_AUDIOLDM2, "audiosr": "haoheliu/audiosr_basic", "audiosr_steps": 50},
        ),
        Recipe(
            "fakesound-zeroshot",
            backends=("audioldm",),
            output_rate=16000,
            region_min_s=None,
            region_max_s=None,
            loudness_match=True,
            params={"checkpoint": "cvssp/audioldm-s-full-v2", "steps": 100, "guidance": 2.5, "eta": 1.0,
                    "margin_s": 0.0, "audiosr": None},
        ),
    )
}
DEFAULT_RECIPE = "weight-free"


def get_recipe(name: str, **overrides: Any) -> Recipe:
    """A registered recipe, with overrides applied; unknown names list the known ones."""
    if name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; known: {', '.join(sorted(RECIPES))}")
    return RECIPES[name].with_overrides(**overrides) if overrides else RECIPES[name]


def create_regenerators(
    recipe: Recipe, donors: Sequence[Donor] = (), device: str = "auto"
) -> dict[str, Regenerator]:
    """One ready backend per name in ``recipe.backends`` (models load here, at start-up)."""
    made: dict[str, Regenerator] = {}
    for backend in recipe.backends:
        if backend in ("splice", "addition", "vocoder"):
            from regenerate import weightfree

            made[backend] = weightfree.create(backend, donors=donors, params=recipe.params)
        elif backend in ("audioldm", "audioldm2"):
            from regenerate import audioldm

            made[backend] = audioldm.create_inpaint_regenerator(backend, recipe, device=device)
        else:
            raise KeyError(f"recipe {recipe.name!r}: unknown backend {backend!r}")
    return made
