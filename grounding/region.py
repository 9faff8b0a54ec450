"""Choosing the one key region of a clip that will be regenerated.

From the clip's grounding results a phrase is chosen (``longest`` segment, highest ``score``, or
seeded ``random``), then its longest segment; the region is shaped on the grid to the policy:

* both ends snap to the nearest grid point inside ``[0, duration]`` (a region never ends after the
  last whole grid step of the clip);
* longer than ``max_s``: a ``max_s`` window at a seeded grid position inside the segment;
* shorter than ``min_s``: extended about its centre to ``min_s`` (an odd step goes to the right),
  shifted back inside the clip where it would overflow; a clip shorter than ``min_s`` is rejected;
* with no minimum, a segment narrower than one grid step becomes one grid step.

With no result for the clip, :func:`grounding.energy.energy_regions` proposes regions and the
longest is taken (a seeded random one when ``phrase_choice == "random"``), then shaped the same way.
When the energy fallback finds no event either (steady audio: rain, a river), a seeded random region
within the policy's bounds is taken and reported as ``"random-fallback"``.
Every random choice draws from ``numpy.random.default_rng`` seeded by SHA-256 of (seed, clip id).
"""

from __future__ import annotations

import math

import numpy as np

from grounding.energy import energy_regions
from grounding.results import GroundingResult
from pipeline.errors import RejectedInput
from pipeline.interfaces import RegionPolicy
from pipeline.seeding import keyed_rng
from pipeline.timemath import Segment, merge_segments, snap_to_grid

ENERGY_FALLBACK = "energy-fallback"
RANDOM_FALLBACK = "random-fallback"
#: Length bounds of a random-fallback region when the policy sets none (FakeSound's train/easy bounds).
RANDOM_DEFAULT_BOUNDS_S = (1.0, 4.0)
#: A segment may end this far past the clip (decoder padding, rounded durations); it is clamped.
END_TOLERANCE_S = 0.05
_STEP_EPS = 1e-6


def clip_rng(seed: int, clip_id: str) -> np.random.Generator:
    """The clip's generator for region choices (:func:`pipeline.seeding.keyed_rng` of seed and clip id)."""
    return keyed_rng(int(seed), clip_id)


def _checked_segments(clip_id: str, duration_s: float, result: GroundingResult) -> list[Segment]:
    what = f"phrase {result.phrase!r}" if result.phrase else "grounding region"
    segments = []
    for onset, offset in result.segments:
        if not (math.isfinite(onset) and math.isfinite(offset)):
            raise RejectedInput(clip_id, f"{what}: non-finite segment [{onset}, {offset}]")
        if onset < 0:
            raise RejectedInput(clip_id, f"{what}: negative onset {onset} s")
        if offset <= onset:
            raise RejectedInput(clip_id, f"{what}: offset {offset} s not after onset {onset} s")
        if onset >= duration_s or offset > duration_s + END_TOLERANCE_S:
            raise RejectedInput(
                clip_id, f"{what}: segment [{onset}, {offset}] s out of range of the {duration_s:.3f} s clip"
            )
        segments.append((onset, min(offset, duration_s)))
    return merge_segments(segments)


def _longest(segments: list[Segment]) -> Segment:
    return max(segments, key=lambda s: (s[1] - s[0], -s[0]))


def _choose(
    clip_id: str, duration_s: float, results: list[GroundingResult], choice: str, rng: np.random.Generator
) -> Segment:
    candidates = [(r, _checked_segments(clip_id, duration_s, r)) for r in results]
    candidates = [(r, segs) for r, segs in candidates if segs]
    if not candidates:
        raise RejectedInput(clip_id, "grounding results hold no segment (every phrase is empty)")
    if choice == "random":
        _, segments = candidates[int(rng.integers(len(candidates)))]
        return _longest(segments)
    if choice == "score":
        scored = [(r.score, i) for i, (r, _) in enumerate(candidates) if r.score is not None]
        if not scored:
            raise RejectedInput(clip_id, "phrase choice 'score' but no grounding result has a score")
        _, best = max(scored, key=lambda t: (t[0], -t[1]))
        return _longest(candidates[best][1])
    return _longest([_longest(segs) for _, segs in candidates])


def _nearest_step(t: float, grid: float) -> int:
    return math.floor(t / grid + 0.5 + 1e-9)  # half up, as pipeline.timemath.snap_to_grid


def shape_region(
    clip_id: str, duration_s: float, segment: Segment, policy: RegionPolicy, rng: np.random.Generator
) -> Segment:
    """Snap ``segment`` to the grid inside the clip and fit it to the policy's min/max (see module doc)."""
    grid = policy.grid_s
    last = math.floor(duration_s / grid + _STEP_EPS)  # last grid point inside the clip
    min_steps = 1 if policy.min_s is None else max(1, math.ceil(policy.min_s / grid - _STEP_EPS))
    if last < min_steps:
        need = f"{policy.min_s} s" if policy.min_s is not None else f"one {grid} s grid step"
        raise RejectedInput(clip_id, f"clip of {duration_s:.3f} s is shorter than the minimum region ({need})")
    start = min(max(_nearest_step(segment[0], grid), 0), last)
    stop = min(max(_nearest_step(segment[1], grid), 0), last)
    if policy.max_s is not None:
        max_steps = max(min_steps, math.floor(policy.max_s / grid + _STEP_EPS))
        if stop - start > max_steps:
            start = int(rng.integers(start, stop - max_steps + 1))
            stop = start + max_steps
    if stop - start < min_steps:
        missing = min_steps - (stop - start)
        start -= missing // 2
        stop += missing - missing // 2
        shift = max(0, -start) - max(0, stop - last)
        start, stop = start + shift, stop + shift
    return snap_to_grid(start * grid, grid), snap_to_grid(stop * grid, grid)


def random_region(clip_id: str, duration_s: float, policy: RegionPolicy, rng: np.random.Generator) -> Segment:
    """A seeded region of seeded length within the policy's bounds (the default bounds when it has none)."""
    grid = policy.grid_s
    lo = policy.min_s if policy.min_s is not None else RANDOM_DEFAULT_BOUNDS_S[0]
    hi = min(policy.max_s if policy.max_s is not None else RANDOM_DEFAULT_BOUNDS_S[1], duration_s)
    lo_steps, hi_steps = max(1, math.ceil(lo / grid - _STEP_EPS)), math.floor(hi / grid + _STEP_EPS)
    length = int(rng.integers(lo_steps, max(lo_steps, hi_steps) + 1)) * grid
    onset = float(rng.uniform(0.0, max(0.0, duration_s - length)))
    return shape_region(clip_id, duration_s, (onset, onset + length), policy, rng)


def select_region(
    clip_id: str,
    duration_s: float,
    results: list[GroundingResult] | None,
    policy: RegionPolicy,
    seed: int,
    audio: np.ndarray | None = None,
    sample_rate: int | None = None,
) -> tuple[Segment, str]:
    """The clip's key region and how it was found (``grounding:<choice>``, ``energy-fallback``, ``random-fallback``).

    ``results`` None or empty: the energy fallback runs on ``audio`` (then required). Raises
    :class:`RejectedInput` for invalid or empty results or a clip too short.
    """
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise RejectedInput(clip_id, f"clip duration {duration_s!r} s is not positive")
    if policy.min_s is not None and duration_s + _STEP_EPS < policy.min_s:
        reason = f"clip of {duration_s:.3f} s is shorter than the minimum region ({policy.min_s} s)"
        raise RejectedInput(clip_id, reason)
    rng = clip_rng(seed, clip_id)
    if results:
        segment = _choose(clip_id, duration_s, list(results), policy.phrase_choice, rng)
        how = f"grounding:{policy.phrase_choice}"
    else:
        if audio is None or sample_rate is None:
            raise RejectedInput(clip_id, "no grounding result and no audio given for the energy fallback")
        proposals = energy_regions(audio, sample_rate)
        if not proposals:  # steady audio (rain, a river): no event stands out, any span is as good as another
            return random_region(clip_id, duration_s, policy, rng), RANDOM_FALLBACK
        choice = "random" if policy.phrase_choice == "random" else "longest"
        fallback = GroundingResult(clip_id, "", proposals)
        candidates = [GroundingResult(clip_id, "", [s]) for s in proposals] if choice == "random" else [fallback]
        segment = _choose(clip_id, duration_s, candidates, choice, rng)
        how = ENERGY_FALLBACK
    return shape_region(clip_id, duration_s, segment, policy, rng), how
