"""Addition: a real foreground event is mixed into the region at a seeded SNR."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.errors import RejectedInput
from pipeline.splice import rms
from regenerate.base import Donor, RegionRequest, RegionResult, SingleRegenerator
from regenerate.configs import AdditionConfig
from regenerate.weightfree.common import DonorPool, fade_out_tail, region_span, request_rng

#: Largest sample magnitude a peak-limited addition may reach (no clipping).
PEAK_CEILING = 0.999
#: Regions quieter than this RMS (about -120 dBFS) have no defined SNR.
MIN_REGION_RMS = 1e-6


def _largest_gain(base: np.ndarray, event: np.ndarray, ceiling: float) -> float:
    """The largest g with ``max |base + g * event| <= ceiling`` (``|base| <= ceiling``), with 0.1 % headroom."""
    up, down = event > 0, event < 0
    bounds = np.concatenate([(ceiling - base[up]) / event[up], (ceiling + base[down]) / -event[down]])
    return float(max(0.0, bounds.min()) * 0.999) if bounds.size else float("inf")


class AdditionRegenerator(SingleRegenerator):
    """``manipulation="addition"``: region = original region + scaled donor event, placed at the region start.

    The SNR is drawn uniformly from ``snr_db`` (seeded) and defined on RMS:
    ``20 log10(rms(event as placed, over its own samples) / rms(original region))``.
    An event shorter than the region is followed by silence and ``changed`` reports the event's span;
    a longer one is cut with a ``cut_fade_s`` fade-out. Background donors are skipped when events exist.
    ``info["added_phrase"]`` names the event, for updating captions. With ``peak_limit`` the event's peak is at
    most the peak of the region it lands on and the mix never clips (``info["snr_db"]`` is then the SNR actually
    used): a louder-than-anything or clipped addition is a level cue. (Capping at the clip's own peak instead made
    a quarter of the additions inaudible after 16-bit quantisation: the grounded region usually holds that peak.)
    """

    manipulation = "addition"
    name = "event-addition"

    def __init__(self, donors: Sequence[Donor], config: AdditionConfig = AdditionConfig()):  # noqa: B008 - frozen
        self.config = config
        self.snr_db = config.snr_db
        events = [d for d in donors if d.kind != "background"]
        self.pool = DonorPool(events or donors, self.name)  # a background bed is no foreground event

    def regenerate(self, request: RegionRequest) -> RegionResult:
        start, stop = region_span(request)
        length, rate = stop - start, request.sample_rate
        rng = request_rng(self.name, request)
        donor = self.pool.choose(request.clip_id, rng)
        snr_db = float(rng.uniform(*self.snr_db))
        original = np.asarray(request.audio[start:stop], dtype=np.float64)
        reference = rms(original)
        if reference < MIN_REGION_RMS:
            raise RejectedInput(request.clip_id, f"region {request.region} is silent: the addition SNR is undefined")
        event = np.asarray(self.pool.audio_at(donor, rate), dtype=np.float64)
        cut = len(event) > length
        event = fade_out_tail(event[:length], round(self.config.cut_fade_s * rate)) if cut else event
        level = rms(event)
        if level == 0.0:
            raise RejectedInput(donor.id, "donor event is silent")
        gain = reference * 10.0 ** (snr_db / 20.0) / level
        if self.config.peak_limit:  # no louder (peak) than the sound it lands on, and never clipping
            event_peak = float(np.max(np.abs(event)))
            gain = min(gain, float(np.max(np.abs(original))) / event_peak,
                       _largest_gain(original[: len(event)], event, PEAK_CEILING))
            snr_db = 20.0 * np.log10(max(gain * level / reference, 1e-12))
        mixed = original.copy()
        mixed[: len(event)] += gain * event
        info = {
            "donor_id": donor.id,
            "snr_db": round(snr_db, 4),
            "event_phrase": donor.phrase,
            "added_phrase": donor.phrase,
            "event_s": round(len(event) / rate, 6),
            "event_cut": cut,
            "clipped": bool(np.abs(mixed).max() > 1.0),
        }
        changed = None if cut else (request.region[0], request.region[0] + len(event) / rate)
        return RegionResult(audio=mixed.astype(np.float32), sample_rate=rate, info=info, changed=changed)
