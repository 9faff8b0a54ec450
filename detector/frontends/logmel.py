"""Log-mel front-end: STFT power -> mel filterbank -> log -> learned per-band normalisation.

``envelope_norm`` ("level", "band") removes each clip's median log power as the ``stft`` front-end does.

Frame ``k`` is the window centred on the middle of the span ``[k * hop, (k + 1) * hop)``, so a
clip of ``T`` samples gives exactly ``ceil(T / hop)`` frames of ``hop / sample_rate`` seconds,
the same grid :func:`pipeline.timemath.segments_to_frame_labels` labels.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from transformers.audio_utils import mel_filter_bank

from detector.config import check_envelope_norm
from detector.frontends.base import CachableFrontend, float32_features, normalise_envelope, power_floor


class LogMelFrontend(CachableFrontend):
    """Log-mel spectrogram with a trainable input BatchNorm over mel bands (trained from scratch)."""

    def __init__(
        self,
        sample_rate: int = 16000,
        n_mels: int = 64,
        hop_length: int = 320,
        n_fft: int = 640,
        f_min: float = 0.0,
        f_max: float | None = None,
        envelope_norm: str = "none",
    ):
        super().__init__()
        self.envelope_norm = check_envelope_norm(envelope_norm)
        if n_fft < hop_length:
            raise ValueError(f"n_fft ({n_fft}) must be at least hop_length ({hop_length})")
        self.sample_rate = int(sample_rate)
        self.hop_length = int(hop_length)
        self.n_fft = int(n_fft)
        self.frame_s = hop_length / sample_rate
        self.dim = int(n_mels)
        fb = mel_filter_bank(
            num_frequency_bins=n_fft // 2 + 1, num_mel_filters=n_mels, min_frequency=f_min,
            max_frequency=f_max if f_max is not None else sample_rate / 2, sampling_rate=sample_rate,
            norm="slaney", mel_scale="slaney",
        )
        self.register_buffer("mel_fb", torch.as_tensor(fb, dtype=torch.float32), persistent=False)
        self.register_buffer("window", torch.hann_window(n_fft, periodic=True), persistent=False)
        self.norm = nn.BatchNorm1d(n_mels)

    def num_frames(self, num_samples: int) -> int:
        return math.ceil(num_samples / self.hop_length)

    @float32_features
    def log_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """``(batch, samples)`` -> unnormalised log-mel ``(batch, frames, n_mels)``."""
        n = wave.shape[-1]
        frames = self.num_frames(n)
        pad_left = (self.n_fft - self.hop_length) // 2
        pad_right = (frames - 1) * self.hop_length + self.n_fft - n - pad_left
        x = nn.functional.pad(wave.float(), (pad_left, max(0, pad_right)))
        spec = torch.stft(
            x, n_fft=self.n_fft, hop_length=self.hop_length, window=self.window, center=False, return_complex=True
        )[..., :frames]
        power = (spec.real.square() + spec.imag.square()).transpose(1, 2)  # (batch, frames, freq)
        mel = torch.matmul(power, self.mel_fb)
        return normalise_envelope(torch.log(mel + power_floor(power, self.envelope_norm, 1e-8)), self.envelope_norm)

    def features(self, wave: torch.Tensor) -> torch.Tensor:
        return self.log_mel(wave)

    def apply_gain(self, feats: torch.Tensor, gain_db: float) -> torch.Tensor:
        """Every log-mel band moves by ``gain_db * ln(10) / 10`` (up to the 1e-8 floor; not at all with
        ``envelope_norm``)."""
        return feats.clone() if self.envelope_norm != "none" else feats + gain_db * math.log(10.0) / 10.0
