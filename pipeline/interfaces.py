"""What the build engine needs from the stages, defined by the core so the core imports no stage.

* a **region source** (grounding) says which span of a clip to regenerate, under a :class:`RegionPolicy`;
* a **regenerator** (regenerate) makes new audio for that span (:class:`RegionRequest` -> :class:`RegionResult`);
* a **recipe** says which backends, policy, splice settings and output rate make a corpus;
* :class:`Stages` is how the wiring (``flows/``) hands the engine concrete ones, in any process.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from pipeline.errors import ConfigError
from pipeline.timemath import FAKESOUND_GRID_S, Segment

PhraseChoice = Literal["longest", "score", "random"]
PHRASE_CHOICES: tuple[str, ...] = ("longest", "score", "random")


@dataclass(frozen=True)
class RegionPolicy:
    """Bounds and grid of the key region, and which grounded phrase to take.

    FakeSound's train/easy sets use regions of 1-4 s; its hard set has no bounds (None).
    """

    min_s: float | None = 1.0
    max_s: float | None = 4.0
    grid_s: float = FAKESOUND_GRID_S
    phrase_choice: PhraseChoice = "longest"

    def __post_init__(self) -> None:
        if not self.grid_s > 0:
            raise ValueError(f"grid_s must be positive, got {self.grid_s!r}")
        if self.phrase_choice not in PHRASE_CHOICES:
            raise ValueError(f"phrase_choice must be one of {PHRASE_CHOICES}, got {self.phrase_choice!r}")
        for name in ("min_s", "max_s"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive or None, got {value!r}")
        if self.min_s is not None and self.max_s is not None and self.min_s > self.max_s:
            raise ValueError(f"min_s {self.min_s} exceeds max_s {self.max_s}")


@dataclass(frozen=True)
class SpliceConfig:
    """How regenerated audio goes back into the real clip (see :func:`pipeline.splice.splice`).

    The boundary treatment is two orthogonal settings: ``crossfade_ms`` 0 is FakeSound's hard splice, > 0 a
    crossfade of that length laid inside the region at both seams (power-preserving for the correlation of real and
    replacement: equal-power for a donor, linear for an addition's insert); ``align_zero_crossing`` first moves
    each seam up to 1 ms into the region, to where replacement and real clip agree best (both crossing zero at
    best). The outside of the (moved) region stays bit-identical either way.
    """

    crossfade_ms: float = 0.0
    align_zero_crossing: bool = False
    loudness_match: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.crossfade_ms, bool) or not isinstance(self.crossfade_ms, int | float) \
                or not 0 <= self.crossfade_ms < math.inf:
            raise ConfigError(f"splice.crossfade_ms must be a finite number of ms >= 0, got {self.crossfade_ms!r}")
        for name in ("align_zero_crossing", "loudness_match"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"splice.{name} must be true or false, got {getattr(self, name)!r}")


class RegionSource(Protocol):
    """Grounding as the engine sees it: the clip's key region and how it was found (``"grounding:longest"``, ...).

    ``caption`` is the clip's (the regeneration prompt), for sources that ground it on the fly. Raises
    :class:`pipeline.errors.RejectedInput` when the clip has no usable region.
    """

    def region(self, clip_id: str, audio: np.ndarray, sample_rate: int, seed: int,
               caption: str = "") -> tuple[Segment, str]: ...


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


@dataclass(frozen=True)
class Donor:
    """A real recording that weight-free backends may borrow from (splice source, added event)."""

    id: str
    audio: np.ndarray
    sample_rate: int
    phrase: str
    kind: str = ""  # "event" | "background" | "" (unknown); addition prefers events


class Recipe(Protocol):
    """What the engine reads of a recipe (``regenerate.recipes.Recipe`` is the concrete one)."""

    name: str
    backends: tuple[str, ...]
    output_rate: int
    region: RegionPolicy
    splice: SpliceConfig

    @property
    def uses_models(self) -> bool: ...

    def to_dict(self) -> dict[str, Any]: ...


class Stages(Protocol):
    """The concrete stages, made where the work runs (threads or another process: it must pickle)."""

    def regenerators(self, recipe: Any, donors: Sequence[Donor], device: str) -> Mapping[str, Regenerator]: ...

    def region_source(self, grounding_path: str | None, policy: RegionPolicy,
                      grounding: Mapping[str, Any] | None = None, device: str = "auto") -> RegionSource:
        """Regions from a results file, else grounded on the fly as ``grounding`` says (loaded now: a missing
        checkpoint fails here), else the fallback."""
        ...

    def grounding_settings(self, grounding_model: str) -> Mapping[str, Any]:
        """JSON-able settings of the on-the-fly grounding ``grounding_model`` names (they key the jobs);
        ``uses_models`` true when its result depends on the device it runs on."""
        ...

    def check_checkpoints(self, recipe: Any, grounding: Mapping[str, Any] | None, grounding_path: str | None) -> None:
        """Check, loading nothing, that every checkpoint the recipe and the on-the-fly grounding name can be had;
        raise :class:`pipeline.checkpoints.CheckpointUnavailable` (one line) if not. Runs before a build claims its
        folder, so a missing checkpoint writes nothing and shows no progress."""
        ...
