"""Splicing a regenerated region back into a real clip.

The default is FakeSound's hard splice: the region's samples are replaced and every sample
outside ``[start, stop)`` is bit-identical to the source. Seam treatments (zero-crossing alignment, crossfades)
work *inside* the region so the outside stays untouched.
"""

from __future__ import annotations

import numpy as np

from pipeline.timemath import DEFAULT_FRAME_S, Segment, changed_segments, seconds_to_samples, segment_to_samples

MAX_LOUDNESS_GAIN_DB = 24.0
#: How far zero-crossing alignment may move a seam into the region: 1 ms keeps the seam within a millisecond of
#: the labelled edge (where a boundary detector looks) and inside its 20 ms frame, so the label stays honest.
ZERO_CROSSING_WINDOW_S = 0.001


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


def power_preserving_ramps(outgoing: np.ndarray, incoming: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fade-out, fade-in) gains over ``len(outgoing)`` samples that keep the power of the blend for the two
    signals' correlation ``rho`` (over the fade, clipped to [0, 1]): linear ramps ``1 - p, p`` scaled by
    ``1 / sqrt((1 - p)^2 + p^2 + 2 rho p (1 - p))``. Uncorrelated signals (a donor stretch) get the equal-power
    law, identical ones the linear law; an addition's insert, which contains the real clip, is no longer lifted
    by up to 3 dB mid-fade as an equal-power fade would."""
    n = len(outgoing)
    a, b = np.asarray(outgoing, dtype=np.float64), np.asarray(incoming, dtype=np.float64)
    norm = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    rho = float(np.clip(np.dot(a, b) / norm, 0.0, 1.0)) if norm > 0 else 0.0
    p = (np.arange(n) + 0.5) / n
    scale = 1.0 / np.sqrt((1 - p) ** 2 + p**2 + 2 * rho * p * (1 - p))
    return (1 - p) * scale, p * scale


def seam_shifts(original: np.ndarray, insert: np.ndarray, start: int, window: int) -> tuple[int, int]:
    """Samples to move the region's first and last seam *inward* (at most ``window`` each) so that each falls
    where the replacement is closest to the real clip: the seam's jump is then the real clip's own step plus
    ``|insert - original|`` at the seam sample, made as small as the window allows (both crossing zero is
    its best case). Ties keep the seam nearest the edge; at least one sample of the insert stays.
    """
    n = len(insert)
    window = max(0, min(window, (n - 1) // 2))
    gap = np.abs(np.asarray(insert, dtype=np.float64) - np.asarray(original[start : start + n], dtype=np.float64))
    return int(np.argmin(gap[: window + 1])), int(np.argmin(gap[::-1][: window + 1]))


def splice(
    original: np.ndarray,
    insert: np.ndarray,
    segment: Segment,
    sample_rate: int,
    crossfade_ms: float = 0.0,
    loudness_match: bool = False,
    align_zero_crossing: bool = False,
) -> np.ndarray:
    """Replace ``segment`` of ``original`` by ``insert`` (exactly the segment's sample count).

    ``loudness_match`` scales the insert to the RMS of the span it replaces; ``align_zero_crossing`` moves each
    seam up to :data:`ZERO_CROSSING_WINDOW_S` into the region (:func:`seam_shifts`), the samples it skips staying
    the real clip's; ``crossfade_ms`` > 0 then blends at both seams within the (moved) region, keeping the
    power for the two signals' correlation (:func:`power_preserving_ramps`: equal-power for a donor, linear for
    an insert that contains the real). Outside the (moved) region the result is bit-identical to ``original``.
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
    if align_zero_crossing:
        head, tail = seam_shifts(original, insert, start, seconds_to_samples(ZERO_CROSSING_WINDOW_S, sample_rate))
        insert, start, stop = insert[head : len(insert) - tail], start + head, stop - tail
    body = insert.astype(np.float64)
    n_fade = min(seconds_to_samples(crossfade_ms / 1000, sample_rate), (stop - start) // 2)
    if n_fade > 0:
        head_real, tail_real = original[start : start + n_fade], original[stop - n_fade : stop]
        fade_out, fade_in = power_preserving_ramps(head_real, body[:n_fade])
        body[:n_fade] = head_real * fade_out + body[:n_fade] * fade_in
        fade_out, fade_in = power_preserving_ramps(body[-n_fade:], tail_real)
        body[-n_fade:] = tail_real * fade_in + body[-n_fade:] * fade_out
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


def altered_segments(original: np.ndarray, fake: np.ndarray, region: Segment, sample_rate: int,
                     cell_s: float = DEFAULT_FRAME_S) -> list[Segment]:
    """The labelled segments of a fake: the ``cell_s`` cells of ``region`` in which it differs from ``original``
    (see :func:`pipeline.timemath.changed_segments`); ``[region]`` when nothing differs.

    One span per fake would also label stretches identical to the real clip inside it (an added event's
    digital-silence gaps, a crossfade that returns to the original); these segments leave them out.
    """
    start, stop = segment_to_samples(region, sample_rate)
    changed = np.asarray(original[start:stop]) != np.asarray(fake[start:stop])
    return changed_segments(changed, region, sample_rate, cell_s) or [region]
