"""Genuine splice: the region is filled with a stretch of another real recording."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.splice import match_loudness
from regenerate.base import Donor, RegionRequest, RegionResult, SingleRegenerator
from regenerate.configs import GenuineSpliceConfig
from regenerate.weightfree.common import DonorPool, region_span, request_rng, tile_crossfaded


class GenuineSpliceRegenerator(SingleRegenerator):
    """``manipulation="splice"``: copy a seeded stretch of a seeded donor (never the clip itself).

    Donors at least as long as the region are preferred; the stretch is then the donor's samples
    (at the request's rate) verbatim. Only when every donor is shorter is one looped, with
    equal-power crossfades of ``tile_crossfade_s`` at the joins. With ``match_level`` the stretch is scaled to
    the RMS of the span it replaces (limits as :func:`pipeline.splice.match_loudness`), and no higher than the
    clip's peak: a donor left at its own recording level, or a louder transient, is a level cue that gives the fake
    away without any look at its content.
    """

    manipulation = "splice"
    name = "genuine-splice"

    def __init__(self, donors: Sequence[Donor], config: GenuineSpliceConfig = GenuineSpliceConfig()):  # noqa: B008
        self.config = config
        self.pool = DonorPool(donors, self.name)

    def regenerate(self, request: RegionRequest) -> RegionResult:
        start, stop = region_span(request)
        length, rate = stop - start, request.sample_rate
        rng = request_rng(self.name, request)
        donor = self.pool.choose(request.clip_id, rng, min_seconds=length / rate)
        source = self.pool.audio_at(donor, rate)
        looped = len(source) < length
        if looped:
            offset = 0
            audio = tile_crossfaded(source, length, round(self.config.tile_crossfade_s * rate))
        else:
            offset = int(rng.integers(len(source) - length + 1))
            audio = source[offset : offset + length].copy()
        if self.config.match_level:
            audio = match_loudness(audio, request.audio[start:stop])
            ceiling, peak = float(np.max(np.abs(request.audio))), float(np.max(np.abs(audio)))
            if peak > ceiling > 0:  # nor may a transient in the donor raise the clip's peak
                audio = (audio * np.float32(ceiling / peak)).astype(np.float32)
        info = {
            "donor_id": donor.id,
            "donor_offset_s": round(offset / rate, 6),
            "donor_phrase": donor.phrase,
            "looped": looped,
        }
        return RegionResult(audio=np.asarray(audio, dtype=np.float32), sample_rate=rate, info=info)
