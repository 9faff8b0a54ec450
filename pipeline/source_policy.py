"""What a real source clip must be to enter a corpus, checked once, at import, on fully decoded audio.

A source that slips through is expensive later: it is drawn as a donor, regenerated on a GPU, or
becomes a "real" clip whose flaw is itself a cue a detector learns. So import decodes every file to
the last sample and applies these rules; each failure is one line naming the file and the reason.

Policies (the README's bad-input matrix shows each one in action):

* corrupt, truncated, empty, header-only, NaN / Inf: rejected (nothing usable, or not what the header says).
* digital silence (peak below one 16-bit step): rejected. Grounding finds no event in it, and a fake
  region in silence is audible to anyone and detectable by energy alone.
* clipped: accepted, the fraction of full-scale samples recorded in ``extra["clipped_fraction"]``.
  Web audio (AudioCaps is YouTube) is often clipped; rejecting it would bias the real class.
* sample rate below 16 kHz: rejected. A real clip with nothing above 4 kHz (8 kHz) next to a fake region
  the generator fills up to 8 or 16 kHz is separable by bandwidth alone. 16 kHz is FakeSound's zero-shot
  rate. Higher rates (up to 192 kHz) are accepted and resampled by the build.
* more than 8 channels: rejected (a mixdown of that many channels is rarely a recording of one scene);
  1-8 channels are averaged to mono.
* shorter than 1 s (less than the shortest region) or longer than 60 s: rejected. The regenerators work on
  10.24 s windows, and a 1-4 s fake in a long recording is mostly real audio with a fake label; cut long
  recordings into clips first.
* captions: empty, or longer than 1,000 characters (AudioCaps captions are under 200; a longer one is
  nearly always an unbalanced quote that swallowed the rows after it), or not UTF-8: the row is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.audio_io import PCM16_SCALE
from pipeline.errors import ConfigError, RejectedInput

PCM16_STEP = 1.0 / PCM16_SCALE


@dataclass(frozen=True)
class SourcePolicy:
    """Limits a source clip and its caption must meet (the defaults are the documented policy)."""

    min_sample_rate: int = 16_000
    max_channels: int = 8
    min_seconds: float = 1.0
    max_seconds: float = 60.0
    max_caption_chars: int = 1_000
    reject_silent: bool = True

    def __post_init__(self) -> None:
        if self.min_sample_rate < 1 or self.max_channels < 1 or self.max_caption_chars < 1:
            raise ConfigError(f"min_sample_rate, max_channels and max_caption_chars must be >= 1 (got "
                              f"{self.min_sample_rate}, {self.max_channels}, {self.max_caption_chars})")
        if not 0 <= self.min_seconds <= self.max_seconds:
            raise ConfigError(f"need 0 <= min_seconds <= max_seconds (got {self.min_seconds}, {self.max_seconds})")

    def check_header(self, item: str, sample_rate: int, frames: int, channels: int) -> None:
        """Rules the header can settle before a full decode is paid for (a header's length may be an
        estimate or a lie, so the minimum length waits for the decoded samples)."""
        if sample_rate < self.min_sample_rate:
            raise RejectedInput(item, f"sample rate {sample_rate} Hz is below the minimum {self.min_sample_rate} Hz")
        if channels > self.max_channels:
            raise RejectedInput(item, f"{channels} channels (at most {self.max_channels} are mixed to mono)")
        if frames == 0:
            raise RejectedInput(item, "audio is empty (0 samples)")
        self.check_max_duration(item, frames / sample_rate)

    def check_max_duration(self, item: str, seconds: float) -> None:
        if seconds > self.max_seconds:
            raise RejectedInput(item, f"clip of {seconds:.1f} s is longer than {self.max_seconds} s; cut it into clips")

    def check_decoded(self, item: str, audio: np.ndarray, sample_rate: int) -> dict[str, float]:
        """Rules on every decoded sample (``(frames, channels)``, before the mono mix, so clipping in one
        channel is not averaged away); returns facts worth keeping (``clipped_fraction``)."""
        self.check_header(item, sample_rate, len(audio), audio.shape[1] if audio.ndim == 2 else 1)
        if len(audio) / sample_rate < self.min_seconds:
            raise RejectedInput(item, f"clip of {len(audio) / sample_rate:.3f} s is shorter than {self.min_seconds} s")
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if self.reject_silent and peak < PCM16_STEP:
            raise RejectedInput(item, "audio is digital silence (peak below one 16-bit step)")
        return {"clipped_fraction": round(clipped_fraction(audio), 6)}

    def caption_problem(self, caption: str) -> str | None:
        """Why a caption cannot be used, or None."""
        if not caption.strip():
            return "caption is empty"
        if len(caption) > self.max_caption_chars:
            return f"caption of {len(caption)} characters is longer than {self.max_caption_chars}"
        try:
            caption.encode("utf-8")
        except UnicodeEncodeError:
            return "caption is not valid UTF-8"
        return None


def clipped_fraction(audio: np.ndarray) -> float:
    """Fraction of samples at full scale (within one 16-bit step of +-1)."""
    if audio.size == 0:
        return 0.0
    return float(np.count_nonzero(np.abs(audio) >= 1.0 - PCM16_STEP)) / audio.size
