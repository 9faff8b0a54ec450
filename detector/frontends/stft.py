"""Linear-STFT front-end: band envelope plus within-band fine structure and phase coherence, at full band.

Why not log-mel: a vocoder (Griffin-Lim from a mel spectrogram, or any mel-conditioned neural vocoder)
reproduces the mel envelope by construction, so a log-mel front-end sees nothing. What it cannot
reproduce is what the mel discards: the fine spectral structure *inside* each mel band (the mel
pseudo-inverse leaves every band smooth, most of all above a few kHz where bands span tens of bins) and
a natural phase. Per 20 ms frame this front-end gives, over mel-spaced bands up to Nyquist:

* ``envelope`` (``n_bands``): log band power, as log-mel (level/content cues for splices and additions);
* ``fine`` (``n_detail_bands``): log of the band-mean squared spectral curvature of the log magnitude,
  ``(L[k] - (L[k-1] + L[k+1]) / 2)^2`` -- large for natural sound (noise-like bin-to-bin fluctuation,
  harmonics), small for a smoothed, re-synthesised spectrum;
* ``phase`` (``n_detail_bands``): power-weighted band mean of ``cos`` of the phase's second difference
  across frequency (the change of group delay from bin to bin; no unwrapping needed). The Hann window
  correlates neighbouring bins, so white noise already gives about 0.6 and a stationary tone up to 1;
  a random or poorly converged phase estimate (Griffin-Lim) gives less than the natural signal with the
  same magnitude.

``envelope_norm`` removes from the envelope what a recording chain adds to every frame alike: ``"level"``
subtracts the clip's median log band power (the playback level), ``"band"`` each band's median over the
clip's frames (level, microphone/EQ colouration and static band limits, as cepstral mean normalisation does
in speech) -- what changes *inside* the clip (a region unlike its context) is kept. Fine structure and phase
coherence are scale-free already, so with either setting the features do not depend on the input gain.

Frames use the same grid as :class:`LogMelFrontend`: frame ``k`` is the window centred on the middle of
``[k * hop, (k + 1) * hop)``, so ``T`` samples give ``ceil(T / hop)`` frames of ``hop / sample_rate`` s.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from transformers.audio_utils import mel_filter_bank

from detector.config import check_envelope_norm
from detector.frontends.base import CachableFrontend, float32_features, normalise_envelope, power_floor

_EPS = 1e-8


def band_matrix(n_bins: int, n_bands: int, sample_rate: int) -> np.ndarray:
    """Mel-spaced triangular bands over ``n_bins`` rfft bins, each row summing to 1: ``(n_bins, n_bands)``."""
    fb = mel_filter_bank(
        num_frequency_bins=n_bins, num_mel_filters=n_bands, min_frequency=0.0, max_frequency=sample_rate / 2,
        sampling_rate=sample_rate, norm=None, mel_scale="slaney",
    )
    empty = fb.sum(axis=0) <= 0
    if empty.any():  # a band narrower than a bin: take the nearest bin
        centres = np.linspace(0, n_bins - 1, n_bands)
        for j in np.flatnonzero(empty):
            fb[int(np.rint(centres[j])), j] = 1.0
    return (fb / fb.sum(axis=0, keepdims=True)).astype(np.float32)


def centred_stft(wave: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor) -> torch.Tensor:
    """Complex STFT ``(batch, bins, ceil(T / hop))``, frame ``k`` centred on the middle of its hop span."""
    n = wave.shape[-1]
    frames = math.ceil(n / hop)
    pad_left = (n_fft - hop) // 2
    pad_right = (frames - 1) * hop + n_fft - n - pad_left
    x = nn.functional.pad(wave.float(), (pad_left, max(0, pad_right)))
    return torch.stft(x, n_fft=n_fft, hop_length=hop, window=window, center=False, return_complex=True)[..., :frames]


class STFTFrontend(CachableFrontend):
    """``(batch, samples)`` -> ``(batch, frames, n_bands + 2 * n_detail_bands)``, with a trainable input BatchNorm."""

    def __init__(
        self,
        sample_rate: int = 32000,
        hop_length: int = 640,
        n_fft: int = 1024,
        n_bands: int = 64,
        n_detail_bands: int = 32,
        phase: bool = True,
        envelope_norm: str = "none",
    ):
        super().__init__()
        if n_fft < hop_length // 2:
            raise ValueError(f"n_fft ({n_fft}) must be at least half of hop_length ({hop_length})")
        self.envelope_norm = check_envelope_norm(envelope_norm)
        self.sample_rate, self.hop_length, self.n_fft = int(sample_rate), int(hop_length), int(n_fft)
        self.frame_s = hop_length / sample_rate
        self.n_bands, self.n_detail_bands, self.phase = int(n_bands), int(n_detail_bands), bool(phase)
        self.dim = self.n_bands + self.n_detail_bands * (2 if phase else 1)
        bins = n_fft // 2 + 1
        self.register_buffer("window", torch.hann_window(n_fft, periodic=True), persistent=False)
        self.register_buffer("env_fb", torch.from_numpy(band_matrix(bins, n_bands, sample_rate)), persistent=False)
        # curvature needs both neighbours: bins 1 .. bins-2
        self.register_buffer(
            "detail_fb", torch.from_numpy(band_matrix(bins - 2, n_detail_bands, sample_rate)), persistent=False
        )
        self.norm = nn.BatchNorm1d(self.dim)

    def num_frames(self, num_samples: int) -> int:
        return math.ceil(num_samples / self.hop_length)

    @float32_features
    def features(self, wave: torch.Tensor) -> torch.Tensor:
        """Unnormalised features ``(batch, frames, dim)``: envelope | fine structure | phase coherence."""
        z = centred_stft(wave, self.n_fft, self.hop_length, self.window).transpose(1, 2)  # (B, frames, bins)
        power = z.real.square() + z.imag.square()
        eps = power_floor(power, self.envelope_norm, _EPS)
        envelope = normalise_envelope(torch.log(torch.matmul(power, self.env_fb) + eps), self.envelope_norm)
        log_mag = torch.log(power + eps).mul_(0.5)
        curvature = log_mag[..., 1:-1] - 0.5 * (log_mag[..., :-2] + log_mag[..., 2:])
        fine = torch.log(torch.matmul(curvature.square_(), self.detail_fb) + 1e-4)
        parts = [envelope, fine]
        if self.phase:
            # power[k] * cos(phi[k-1] - 2 phi[k] + phi[k+1]) = Re(X[k-1] X[k+1] conj(X[k])^2) / (|X[k-1]| |X[k+1]|)
            numerator = (z[..., :-2] * z[..., 2:] * z[..., 1:-1].conj().square()).real
            mag = torch.sqrt(power + eps)
            weighted = numerator / (mag[..., :-2] * mag[..., 2:] + eps)
            weight = power[..., 1:-1]
            coherence = torch.matmul(weighted, self.detail_fb) / (torch.matmul(weight, self.detail_fb) + eps)
            parts.append(coherence)
        return torch.cat(parts, dim=-1)

    def apply_gain(self, feats: torch.Tensor, gain_db: float) -> torch.Tensor:
        """Only the log band powers move (by ``gain_db * ln(10) / 10``; not at all with ``envelope_norm``);
        curvature and phase are scale-free."""
        out = feats.clone()
        if self.envelope_norm != "none":
            return out
        out[..., : self.n_bands] += gain_db * math.log(10.0) / 10.0
        return out
