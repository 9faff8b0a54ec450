"""Splicing a regenerated region back into a real clip.

The default is FakeSound's hard splice: the region's samples are replaced and every sample
outside ``[start, stop)`` is bit-identical to the source. Crossfades, when asked for, are laid
*inside* the region so the outside stays untouched.
"""

from __future__ import annotations

import numpy as np

from pipeline.timemath import Segment, ceil_to_grid, segment_to_samples, snap_to_grid

MAX_LOUDNESS_GAIN_DB = 24.0


def fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad ``audio`` at its end to exactly ``length`` samples."""
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) >= length:
        return audio[:length]
    return np.concatenate([audio, np.zeros(length - len(audio), dtype=np.float32)])


def rms(audio: np.ndarray) -> float:
    """Root mean square (0 for empty input)."""
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if len(audio) else 0.0


def match_loudness(insert: np.ndarray, reference: np.ndarray, max_gain_db: float = MAX_LOUDNESS_GAIN_DB) -> np.ndarray:
    """Scale ``insert`` to the RMS of ``reference`` (gain limited to +-``max_gain_db``)."""
    ref, ins = rms(reference), rms(insert)
    if ref < 1e-8 or ins < 1e-8:
        return np.asarray(insert, dtype=np.float32)
    limit = 10 ** (max_gain_db / 20)
    gain = float(np.clip(ref / ins, 1 / limit, limit))
    return (np.asarray(insert, dtype=np.float64) * gain).astype(np.float32)


def equal_power_ramps(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(fade-out, fade-in) gains of an equal-power crossfade over ``n`` samples."""
    theta = (np.arange(n) + 0.5) / n * (np.pi / 2)
    return np.cos(theta), np.sin(theta)


def splice(
    original: np.ndarray,
    insert: np.ndarray,
    segment: Segment,
    sample_rate: int,
    crossfade_ms: float = 0.0,
    loudness_match: bool = False,
) -> np.ndarray:
    """Replace ``segment`` of ``original`` by ``insert`` (exactly the segment's sample count).

    ``crossfade_ms`` > 0 blends equal-power at both seams within the region;
    ``loudness_match`` scales the insert to the RMS of the span it replaces.
    """
    original = np.asarray(original, dtype=np.float32)
    start, stop = segment_to_samples(segment, sample_rate)
    if stop > len(original):
        raise ValueError(f"segment {segment} ends after the clip ({len(original) / sample_rate:.3f} s)")
    if stop <= start:
        raise ValueError(f"segment {segment} is empty at {sample_rate} Hz")
    insert = np.asarray(insert, dtype=np.float32)
    if len(insert) != stop - start:
        raise ValueError(f"insert has {len(insert)} samples, segment {segment} spans {stop - start}")
    if loudness_match:
        insert = match_loudness(insert, original[start:stop])
    body = insert.astype(np.float64)
    n_fade = min(round(crossfade_ms * sample_rate / 1000), (stop - start) // 2)
    if n_fade > 0:
        fade_out, fade_in = equal_power_ramps(n_fade)
        head, tail = original[start : start + n_fade], original[stop - n_fade : stop]
        body[:n_fade] = head * fade_out + body[:n_fade] * fade_in
        body[-n_fade:] = tail * fade_in + body[-n_fade:] * fade_out
    out = original.copy()
    out[start:stop] = np.clip(body, -1.0, 1.0).astype(np.float32)
    return out


def splice_many(
    original: np.ndarray, inserts: list[np.ndarray], segments: list[Segment], sample_rate: int, **kwargs: float | bool
) -> np.ndarray:
    """Splice several non-overlapping regions (FakeSound2-style multi-segment fakes)."""
    out = np.asarray(original, dtype=np.float32)
    for insert, segment in zip(inserts, segments, strict=True):
        out = splice(out, insert, segment, sample_rate, **kwargs)  # type: ignore[arg-type]
    return out


def altered_span(original: np.ndarray, fake: np.ndarray, region: Segment, sample_rate: int, grid_s: float) -> Segment:
    """The labelled span of a fake: from the grid step holding its first sample that differs from ``original``
    to the grid step after its last, inside ``region``; ``region`` itself when nothing differs.

    Labels then never start or end on stretches identical to the real clip (an added event's leading
    silence, a crossfade that returns to the original); identical stretches *inside* the span remain.
    """
    start, stop = segment_to_samples(region, sample_rate)
    differs = np.flatnonzero(np.asarray(original[start:stop]) != np.asarray(fake[start:stop]))
    if differs.size == 0:
        return region
    first = (start + int(differs[0])) / sample_rate
    last = (start + int(differs[-1]) + 1) / sample_rate
    steps_in = int(np.floor((first - region[0]) / grid_s + 1e-9))
    onset = snap_to_grid(region[0] + max(0, steps_in) * grid_s, grid_s)
    offset = min(region[1], ceil_to_grid(last, grid_s))
    return (onset, offset) if offset > onset else region
