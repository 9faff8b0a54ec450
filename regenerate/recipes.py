"""Recipes: named presets (data) composing the typed configs that make a corpus.

A recipe says which backends regenerate regions (cycled over source clips, seeded, so manipulation types are
spread), the region policy, how the fake is spliced back and the output rate; each backend's settings are its
typed config from :mod:`regenerate.configs`. Overrides are checked: a misspelt name raises and lists the known
ones (``get_recipe("fakesound-train", stpes=5)`` fails instead of doing nothing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.checkpoints import CheckpointUnavailable, check_available, check_diffusers_checkpoint
from pipeline.errors import ConfigError
from pipeline.interfaces import RegionPolicy, SpliceConfig
from pipeline.requests import DEFAULT_RECIPE
from regenerate.base import Donor, Regenerator
from regenerate.configs import (
    AUDIOLDM,
    AUDIOLDM1_CLAP,
    AUDIOLDM2,
    AUDIOSR_CHECKPOINT_FILE,
    AUDIOSR_HUB_IDS,
    DEBUG_CHECKPOINT,
    INPAINT_DEFAULTS,
    AdditionConfig,
    AudioSRConfig,
    GenuineSpliceConfig,
    InpaintConfig,
    VocoderConfig,
)

WEIGHT_FREE_BACKENDS = ("splice", "addition", "vocoder")
MODEL_BACKENDS = ("audioldm", "audioldm2")
#: The recipe sections each backend reads (only these go into the recipe's identity, ``to_dict``).
_SECTIONS = {"splice": ("genuine_splice",), "addition": ("addition",), "vocoder": ("vocoder",),
             "audioldm": ("inpaint", "audiosr"), "audioldm2": ("inpaint", "audiosr")}
#: Short override names (CLI flags, flow parameters) and the ``section.field`` each sets.
ALIASES = {
    "checkpoint": "inpaint.checkpoint", "steps": "inpaint.steps", "guidance": "inpaint.guidance",
    "eta": "inpaint.eta", "margin_s": "inpaint.margin_s", "batch_size": "inpaint.batch_size",
    "n_candidates": "inpaint.n_candidates", "clap": "inpaint.clap",
    "audiosr": "audiosr.checkpoint", "audiosr_steps": "audiosr.steps", "audiosr_config": "audiosr.config_file",
    "region_min_s": "region.min_s", "region_max_s": "region.max_s", "grid_s": "region.grid_s",
    "phrase_choice": "region.phrase_choice", "crossfade_ms": "splice.crossfade_ms",
    "align_zero_crossing": "splice.align_zero_crossing",
    "loudness_match": "splice.loudness_match", "snr_db": "addition.snr_db", "griffin_lim_iters": "vocoder.iters",
}


@dataclass(frozen=True)
class Recipe:
    """How fakes are made: backends, region policy, splice, output rate, and each backend's typed config."""

    name: str
    backends: tuple[str, ...]
    output_rate: int = 32000
    region: RegionPolicy = field(default_factory=RegionPolicy)
    splice: SpliceConfig = field(default_factory=SpliceConfig)
    genuine_splice: GenuineSpliceConfig = field(default_factory=GenuineSpliceConfig)
    addition: AdditionConfig = field(default_factory=AdditionConfig)
    vocoder: VocoderConfig = field(default_factory=VocoderConfig)
    inpaint: InpaintConfig | None = None
    audiosr: AudioSRConfig | None = None

    def __post_init__(self) -> None:
        unknown = [b for b in self.backends if b not in _SECTIONS]
        if unknown or not self.backends:
            raise ConfigError(f"recipe {self.name!r}: unknown backend(s) {unknown or '(none)'}; "
                              f"known: {', '.join(_SECTIONS)}")
        models = [b for b in self.backends if b in MODEL_BACKENDS]
        if len(models) > 1:
            raise ConfigError(f"recipe {self.name!r}: one inpainting model per recipe, got {models}")
        if models and self.inpaint is None:
            object.__setattr__(self, "inpaint", INPAINT_DEFAULTS[models[0]])

    @property
    def uses_models(self) -> bool:
        """True when a backend runs a neural model (so the device and dtype matter)."""
        return any(b in MODEL_BACKENDS for b in self.backends)

    def sections(self) -> list[str]:
        """The config sections this recipe's backends read, after ``region`` and ``splice``."""
        used = [s for b in self.backends for s in _SECTIONS[b]]
        return ["region", "splice", *dict.fromkeys(used)]

    def with_overrides(self, **overrides: Any) -> Recipe:
        """Copy with settings replaced: ``output_rate``, ``<section>.<field>`` or a short name from ``ALIASES``.

        ``None`` values are skipped (an option left unset). A name that does not exist, or a setting of a backend
        this recipe does not use, raises :class:`ConfigError` listing what can be set.
        """
        changes: dict[str, dict[str, Any]] = {}
        top: dict[str, Any] = {}
        for key, value in overrides.items():
            if value is None:
                continue
            if key in ("output_rate", "name", "backends"):
                top[key] = tuple(value) if key == "backends" else value
                continue
            section, _, name = ALIASES.get(key, key).partition(".")
            if section not in self.sections() or name not in self._fields(section):
                raise ConfigError(f"recipe {self.name!r} has no setting {key!r}; known: "
                                  f"{', '.join(self.known_overrides())}")
            changes.setdefault(section, {})[name] = value
        recipe = dataclasses.replace(self, **top)
        replaced = {s: dataclasses.replace(recipe._section(s), **c) for s, c in changes.items()}
        return dataclasses.replace(recipe, **replaced)

    def known_overrides(self) -> list[str]:
        """Every name :meth:`with_overrides` accepts for this recipe."""
        full = [f"{s}.{f}" for s in self.sections() for f in self._fields(s)]
        short = [a for a, target in ALIASES.items() if target in full]
        return ["output_rate", *sorted(short), *full]

    def _section(self, section: str) -> Any:
        value = getattr(self, section)
        return AudioSRConfig() if value is None and section == "audiosr" else value

    def _fields(self, section: str) -> list[str]:
        return [f.name for f in dataclasses.fields(self._section(section))]

    def to_dict(self) -> dict[str, Any]:
        """The recipe's identity: name, backends, output rate and the sections its backends read."""
        out: dict[str, Any] = {"name": self.name, "backends": list(self.backends), "output_rate": self.output_rate}
        for section in self.sections():
            value = getattr(self, section)
            out[section] = None if value is None else dataclasses.asdict(value)
        return out


_UNBOUNDED = RegionPolicy(min_s=None, max_s=None)
_DEBUG = InpaintConfig(checkpoint=DEBUG_CHECKPOINT, steps=4, n_candidates=2)
_MATCHED = SpliceConfig(loudness_match=True)

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        # crossfaded seams, level-matched splices, additions under the clip's peak: a click, a level step or a
        # clipped addition gives a fake away without any look at its content (the benchmark's probes measure it)
        Recipe("weight-free", backends=WEIGHT_FREE_BACKENDS, splice=SpliceConfig(crossfade_ms=10.0),
               genuine_splice=GenuineSpliceConfig(match_level=True),
               addition=AdditionConfig(snr_db=(-5.0, 5.0), peak_limit=True)),
        Recipe("fakesound-train", backends=("audioldm2",), splice=_MATCHED, inpaint=AUDIOLDM2, audiosr=AudioSRConfig()),
        Recipe("fakesound-easy", backends=("audioldm2",), splice=_MATCHED, inpaint=AUDIOLDM2, audiosr=AudioSRConfig()),
        Recipe("fakesound-hard", backends=("audioldm2",), region=_UNBOUNDED, splice=_MATCHED, inpaint=AUDIOLDM2,
               audiosr=AudioSRConfig()),
        Recipe("fakesound-zeroshot", backends=("audioldm",), output_rate=16000, region=_UNBOUNDED, splice=_MATCHED,
               inpaint=AUDIOLDM),
        # Tiny random models built at start-up (regenerate/debug_models.py): the whole diffusion path on CPU in
        # seconds with no weights. The output is noise; the manifest's generator field says debug-<backend>.
        Recipe("debug-audioldm", backends=("audioldm",), output_rate=16000, inpaint=_DEBUG),
        Recipe("debug-audioldm2", backends=("audioldm2",), inpaint=_DEBUG,
               audiosr=AudioSRConfig(checkpoint=DEBUG_CHECKPOINT, steps=2)),
    )
}
#: What each recipe is for, in the README's recipe table.
DESCRIPTIONS = {
    "weight-free": "no model weights; the demo",
    "fakesound-train": "FakeSound train",
    "fakesound-easy": "FakeSound easy",
    "fakesound-hard": "FakeSound hard",
    "fakesound-zeroshot": "FakeSound zero-shot",
    "debug-audioldm": "tiny random models, no weights, seconds on CPU: **output is noise**",
    "debug-audioldm2": "tiny random models, no weights, seconds on CPU: **output is noise**",
}
_BACKEND_NAMES = {"splice": "genuine splice", "addition": "event addition", "vocoder": "Griffin-Lim resynthesis",
                  "audioldm": "AudioLDM v1 inpainting", "audioldm2": "AudioLDM2 inpainting"}


def recipe_table() -> str:
    """The README's recipe table, made from the recipes themselves (a test checks the README holds it)."""
    lines = ["| recipe | backends | region | output | diffusion | notes |", "|---|---|---|---|---|---|"]
    for name, recipe in RECIPES.items():
        backends = ", ".join(_BACKEND_NAMES[b] for b in recipe.backends)
        if recipe.audiosr is not None:
            backends += " + AudioSR"
        low, high = recipe.region.min_s, recipe.region.max_s
        bounds = "any length" if low is None and high is None else f"{low:g}–{high:g} s"
        diffusion = "—"
        if recipe.inpaint is not None:
            diffusion = (f"`{recipe.inpaint.checkpoint}`, {recipe.inpaint.steps} steps, "
                         f"guidance {recipe.inpaint.guidance:g}, best of {recipe.inpaint.n_candidates}")
            if recipe.audiosr is not None:
                diffusion += f"; `{recipe.audiosr.checkpoint}`, {recipe.audiosr.steps} steps"
        label = f"`{name}`" + (" (default)" if name == DEFAULT_RECIPE else "")
        lines.append(f"| {label} | {backends} | {bounds} | {recipe.output_rate // 1000} kHz | {diffusion} | "
                     f"{DESCRIPTIONS[name]} |")
    return "\n".join(lines)


def get_recipe(name: str, **overrides: Any) -> Recipe:
    """A registered recipe, with overrides applied; unknown names (recipe or setting) list the known ones."""
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}; known: {', '.join(sorted(RECIPES))}")
    return RECIPES[name].with_overrides(**overrides)


def check_checkpoints(recipe: Recipe) -> None:
    """Start-up check that every checkpoint the recipe's model backends load can be had (inpainting model, CLAP
    for best-of-N, AudioSR and its architecture JSON), loading nothing and importing no model code: raises
    ``CheckpointUnavailable`` in one line before a build claims its folder or shows any progress. Weight-free and
    debug backends need none."""
    for backend in (b for b in recipe.backends if b in MODEL_BACKENDS):
        config = recipe.inpaint or INPAINT_DEFAULTS[backend]
        debug = config.checkpoint == DEBUG_CHECKPOINT
        if not debug:
            check_diffusers_checkpoint(config.checkpoint,
                                       "AudioLDMPipeline" if backend == "audioldm" else "AudioLDM2Pipeline")
        clap = config.clap or (AUDIOLDM1_CLAP if backend == "audioldm" and not debug else None)
        if config.n_candidates > 1 and clap:
            check_available(clap, "config.json", local="a local CLAP folder as `clap`, or set n_candidates=1")
    audiosr = recipe.audiosr
    if audiosr is not None and audiosr.checkpoint != DEBUG_CHECKPOINT:
        local = Path(audiosr.checkpoint).expanduser()
        check_available(str(local) if local.exists() else AUDIOSR_HUB_IDS.get(audiosr.checkpoint, audiosr.checkpoint),
                        AUDIOSR_CHECKPOINT_FILE, local=f"a local folder holding {AUDIOSR_CHECKPOINT_FILE}, or its path")
        if audiosr.config_file and not Path(audiosr.config_file).is_file():
            raise CheckpointUnavailable(f"AudioSR architecture JSON {audiosr.config_file} not found (audiosr_config)")


def create_regenerators(recipe: Recipe, donors: Sequence[Donor] = (), device: str = "auto") -> dict[str, Regenerator]:
    """One ready backend per name in ``recipe.backends`` (models load here, at start-up)."""
    made: dict[str, Regenerator] = {}
    for backend in recipe.backends:
        if backend in WEIGHT_FREE_BACKENDS:
            from regenerate import weightfree

            section = _SECTIONS[backend][0]
            made[backend] = weightfree.create(backend, donors=donors, config=getattr(recipe, section))
        else:
            from regenerate import audioldm

            made[backend] = audioldm.create_inpaint_regenerator(backend, recipe, device=device)
    return made
