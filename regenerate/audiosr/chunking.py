"""Long inputs: equal-length overlapping chunks and a complementary-crossfade overlap-add."""

from __future__ import annotations

import numpy as np

Span = tuple[int, int]


def plan_chunks(total: int, chunk: int, min_overlap: int) -> list[Span]:
    """Half-open spans of ``chunk`` samples covering ``[0, total)``, evenly spread so that neighbours overlap by at
    least ``min_overlap``. One span ``(0, total)`` when the input fits in a chunk."""
    if not 0 < 3 * min_overlap <= chunk:
        raise ValueError(f"overlap {min_overlap} must be positive and at most a third of the chunk ({chunk})")
    if total <= chunk:
        return [(0, total)]
    count = -(-(total - min_overlap) // (chunk - min_overlap))
    starts = np.round(np.linspace(0, total - chunk, count)).astype(int)
    return [(int(s), int(s) + chunk) for s in starts]


def _fade(n: int) -> np.ndarray:
    """Rising half of a raised cosine over ``n`` samples; ``fade + fade[::-1] == 1`` sample by sample."""
    return np.sin(0.5 * np.pi * (np.arange(n) + 0.5) / n) ** 2


def crossfade_weights(spans: list[Span], crossfade: int) -> list[np.ndarray]:
    """Per-span weights: 1 where the span alone is used, complementary raised-cosine ramps of ``crossfade`` samples
    centred in each neighbours' overlap, 0 beyond. The weights sum to exactly 1 at every sample."""
    weights = [np.ones(stop - start) for start, stop in spans]
    for i in range(len(spans) - 1):
        (start_a, stop_a), (start_b, _) = spans[i], spans[i + 1]
        length = min(crossfade, stop_a - start_b)
        begin = (start_b + stop_a - length) // 2  # absolute sample where the ramp begins
        ramp = _fade(length)
        weights[i][begin - start_a : begin - start_a + length] *= ramp[::-1]
        weights[i][begin - start_a + length :] = 0.0
        weights[i + 1][begin - start_b : begin - start_b + length] *= ramp
        weights[i + 1][: begin - start_b] = 0.0
    return weights


def overlap_add(pieces: list[np.ndarray], spans: list[Span], total: int, crossfade: int) -> np.ndarray:
    """Sum ``pieces`` (one per span) weighted by :func:`crossfade_weights`; identical pieces give the signal back."""
    out = np.zeros(total, dtype=np.float64)
    for piece, (start, stop), weight in zip(pieces, spans, crossfade_weights(spans, crossfade), strict=True):
        out[start:stop] += weight * np.asarray(piece, dtype=np.float64)
    return out.astype(np.float32)
