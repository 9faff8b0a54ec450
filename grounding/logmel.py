"""Log-mel front end of the TAG audio encoder, without torchaudio.

The published TAG model computes its input with torchaudio
``MelSpectrogram(n_fft=win_length, hop_length, f_min, f_max, n_mels, norm="slaney", mel_scale="slaney")``
followed by ``AmplitudeToDB()``. torchaudio does not import here, so this module computes the same:

* power spectrogram: ``torch.stft`` with a periodic Hann window of ``n_fft`` samples, frames centred
  (the signal reflect-padded by ``n_fft // 2`` on both sides), ``|X|^2``;
* mel filterbank: triangles between ``n_mels + 2`` points spaced evenly on the Slaney mel scale
  (linear below 1 kHz, logarithmic above) from ``f_min`` to ``f_max``, evaluated at ``n_fft // 2 + 1``
  frequencies evenly spaced from 0 to ``sample_rate // 2``; each triangle scaled by
  ``2 / (upper edge - lower edge)`` (Slaney area normalisation);
* decibels: ``10 * log10(max(power, 1e-10))`` (reference 1, no ``top_db`` clipping).

The checkpoint carries torchaudio's window and filterbank as buffers; the loader checks them against
these and then uses the checkpoint's own, so that the features are the ones the model was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

#: Floor of the power before the logarithm (torchaudio ``AmplitudeToDB`` ``amin``).
POWER_FLOOR = 1e-10

_SLANEY_HZ_PER_MEL = 200.0 / 3.0
_SLANEY_BREAK_HZ = 1000.0
_SLANEY_LOG_STEP = np.log(6.4) / 27.0


@dataclass(frozen=True)
class LogMelConfig:
    """Front-end parameters; the defaults are the published model's (32 kHz, 32 ms window, 10 ms hop)."""

    sample_rate: int = 32000
    n_fft: int = 1024
    hop_length: int = 320
    f_min: float = 50.0
    f_max: float = 14000.0
    n_mels: int = 64

    def __post_init__(self) -> None:
        if not 0 <= self.f_min < self.f_max <= self.sample_rate / 2:
            raise ValueError(f"need 0 <= f_min < f_max <= sample_rate / 2, got {self.f_min}, {self.f_max}")
        if self.n_fft <= 0 or self.hop_length <= 0 or self.n_mels <= 0:
            raise ValueError("n_fft, hop_length and n_mels must be positive")


def hz_to_slaney_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _SLANEY_HZ_PER_MEL
    break_mel = _SLANEY_BREAK_HZ / _SLANEY_HZ_PER_MEL
    logarithmic = break_mel + np.log(np.maximum(hz, 1e-300) / _SLANEY_BREAK_HZ) / _SLANEY_LOG_STEP
    return np.where(hz >= _SLANEY_BREAK_HZ, logarithmic, linear)


def slaney_mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    break_mel = _SLANEY_BREAK_HZ / _SLANEY_HZ_PER_MEL
    linear = mel * _SLANEY_HZ_PER_MEL
    logarithmic = _SLANEY_BREAK_HZ * np.exp(_SLANEY_LOG_STEP * (mel - break_mel))
    return np.where(mel >= break_mel, logarithmic, linear)


def slaney_filterbank(config: LogMelConfig) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) float64 filterbank, laid out as torchaudio's ``mel_scale.fb`` buffer."""
    freqs = np.linspace(0.0, config.sample_rate // 2, config.n_fft // 2 + 1)
    mels = np.linspace(hz_to_slaney_mel(config.f_min), hz_to_slaney_mel(config.f_max), config.n_mels + 2)
    edges = slaney_mel_to_hz(mels)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (freqs[:, None] - lower) / (centre - lower)
    falling = (upper - freqs[:, None]) / (upper - centre)
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    return triangles * (2.0 / (upper - lower))


class LogMel(nn.Module):
    """``(batch, samples)`` waveform -> ``(batch, n_mels, frames)`` log-mel in dB, ``frames = samples // hop + 1``."""

    def __init__(self, config: LogMelConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("window", torch.hann_window(config.n_fft, periodic=True, dtype=torch.float64).float())
        self.register_buffer("filterbank", torch.from_numpy(slaney_filterbank(config)).float())

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        spectrum = torch.stft(
            waveform.float(),
            n_fft=self.config.n_fft,
            hop_length=self.config.hop_length,
            win_length=self.config.n_fft,
            window=self.window,
            center=True,
            pad_mode="reflect",
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        power = spectrum.real.square() + spectrum.imag.square()
        mel = torch.matmul(power.transpose(-1, -2), self.filterbank).transpose(-1, -2)
        return 10.0 * torch.log10(mel.clamp(min=POWER_FLOOR))
