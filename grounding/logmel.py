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


def slaney_filterbank(config: LogMelConfig) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) float64 filterbank, laid out as torchaudio's ``mel_scale.fb`` buffer.

    transformers' ``mel_filter_bank`` follows torchaudio's ``melscale_fbanks`` (frequencies
    ``linspace(0, sample_rate // 2, n_fft // 2 + 1)``); the tests check it against our own transcription.
    """
    from transformers.audio_utils import mel_filter_bank

    return mel_filter_bank(
        num_frequency_bins=config.n_fft // 2 + 1,
        num_mel_filters=config.n_mels,
        min_frequency=config.f_min,
        max_frequency=config.f_max,
        sampling_rate=config.sample_rate,
        norm="slaney",
        mel_scale="slaney",
    )


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
