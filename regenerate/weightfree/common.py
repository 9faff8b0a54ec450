"""Helpers shared by the weight-free backends: request checks, seeded draws, donor handling."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.audio_io import resample
from pipeline.errors import RejectedInput
from pipeline.seeding import keyed_rng
from pipeline.splice import equal_power_ramps
from pipeline.timemath import segment_to_samples
from regenerate.base import Donor, RegionRequest


def region_span(request: RegionRequest) -> tuple[int, int]:
    """Sample span ``[start, stop)`` of the request's region; rejects empty or out-of-clip regions."""
    onset, offset = request.region
    if not (0 <= onset < offset):
        raise RejectedInput(request.clip_id, f"region {request.region} is empty or negative")
    start, stop = segment_to_samples(request.region, request.sample_rate)
    if stop > len(request.audio):
        raise RejectedInput(
            request.clip_id,
            f"region {request.region} ends after the clip ({len(request.audio) / request.sample_rate:.3f} s)",
        )
    if stop <= start:
        raise RejectedInput(request.clip_id, f"region {request.region} spans no sample at {request.sample_rate} Hz")
    return start, stop


def request_rng(backend: str, request: RegionRequest) -> np.random.Generator:
    """Generator seeded by SHA-256 of (backend, seed, clip id, region): stable across processes."""
    return keyed_rng(backend, int(request.seed), request.clip_id, request.region[0], request.region[1])


def tile_crossfaded(audio: np.ndarray, length: int, crossfade: int) -> np.ndarray:
    """Loop ``audio`` to ``length`` samples, joining copies with equal-power crossfades of ``crossfade``."""
    audio = np.asarray(audio, dtype=np.float64)
    crossfade = max(0, min(crossfade, len(audio) // 2))
    fade_out, fade_in = equal_power_ramps(crossfade)
    out = audio.copy()
    while len(out) < length:
        joint = out[len(out) - crossfade :] * fade_out + audio[:crossfade] * fade_in
        out = np.concatenate([out[: len(out) - crossfade], joint, audio[crossfade:]])
    return out[:length].astype(np.float32)


def fade_out_tail(audio: np.ndarray, n: int) -> np.ndarray:
    """Copy of ``audio`` with a linear fade to zero over its last ``n`` samples."""
    out = np.asarray(audio, dtype=np.float64).copy()
    n = min(n, len(out))
    if n > 0:
        out[len(out) - n :] *= np.linspace(1.0, 0.0, n + 1)[1:]
    return out


class DonorPool:
    """Real recordings to borrow from, sorted by id (order of the input does not matter).

    Donors are resampled once per output rate and cached.
    """

    def __init__(self, donors: Sequence[Donor], backend: str):
        self.backend = backend
        self.donors = tuple(sorted(donors, key=lambda d: d.id))
        if not self.donors:
            raise RejectedInput(backend, "no donor clips given: splice/addition need real recordings to borrow from")
        for donor in self.donors:
            audio = np.asarray(donor.audio)
            if audio.ndim != 1 or audio.size == 0 or donor.sample_rate <= 0:
                raise ValueError(f"donor {donor.id!r}: need non-empty mono audio and a positive sample rate")
        self._cache: dict[tuple[str, int], np.ndarray] = {}

    def audio_at(self, donor: Donor, sample_rate: int) -> np.ndarray:
        """The donor's audio at ``sample_rate`` (float32, cached)."""
        key = (donor.id, sample_rate)
        if key not in self._cache:
            self._cache[key] = resample(np.asarray(donor.audio, dtype=np.float32), donor.sample_rate, sample_rate)
        return self._cache[key]

    def choose(self, clip_id: str, rng: np.random.Generator, min_seconds: float = 0.0) -> Donor:
        """A seeded pick among donors other than ``clip_id``, preferring those at least ``min_seconds`` long."""
        eligible = [d for d in self.donors if d.id != clip_id]
        if not eligible:
            raise RejectedInput(clip_id, f"{self.backend}: no donor other than the clip itself")
        long_enough = [d for d in eligible if len(d.audio) / d.sample_rate >= min_seconds]
        pool = long_enough or eligible
        return pool[int(rng.integers(len(pool)))]
