"""AudioLDM's log-mel front end in torch (what its VAE encodes and its HiFi-GAN vocoder inverts).

AudioLDM (and the 16 kHz AudioLDM 2 models) compute a Tacotron-style mel: |STFT| of the reflect-padded
waveform (n_fft 1024, Hann window 1024, hop 160 at 16 kHz), a librosa/Slaney mel filterbank (64 bins,
0-8000 Hz, Slaney area normalisation), then ``log(clamp(mel, 1e-5))`` of the *magnitude* mel.
Before that the waveform is made zero-mean and scaled to a 0.5 peak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from transformers.audio_utils import mel_filter_bank

LOG_CLAMP = 1e-5
PEAK = 0.5


@dataclass(frozen=True)
class MelConfig:
    """Front-end settings; the defaults are AudioLDM's (``preprocessing`` of ``default_audioldm_config``)."""

    sample_rate: int = 16000
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 160
    n_mels: int = 64
    fmin: float = 0.0
    fmax: float = 8000.0


class LogMel(nn.Module):
    """Waveform ``[B, T]`` in [-1, 1] -> log-magnitude mel ``[B, frames, n_mels]``, frames = T // hop + 1."""

    def __init__(self, config: MelConfig = MelConfig()):
        super().__init__()
        self.config = config
        bank = mel_filter_bank(
            num_frequency_bins=config.n_fft // 2 + 1,
            num_mel_filters=config.n_mels,
            min_frequency=config.fmin,
            max_frequency=config.fmax,
            sampling_rate=config.sample_rate,
            norm="slaney",
            mel_scale="slaney",
        )
        self.register_buffer("mel_basis", torch.from_numpy(np.ascontiguousarray(bank.T)).float(), persistent=False)
        self.register_buffer("window", torch.hann_window(config.win_length, periodic=True), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        spec = torch.stft(
            wave.float(),
            n_fft=cfg.n_fft,
            hop_length=cfg.hop_length,
            win_length=cfg.win_length,
            window=self.window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        mel = torch.matmul(self.mel_basis, spec.abs())
        return torch.log(torch.clamp(mel, min=LOG_CLAMP)).transpose(1, 2)


def peak_normalise(audio: np.ndarray) -> tuple[np.ndarray, float]:
    """AudioLDM's input normalisation: remove the mean, scale to a 0.5 peak. Returns (audio, gain applied)."""
    centred = np.asarray(audio, dtype=np.float64) - float(np.mean(audio))
    gain = PEAK / (float(np.max(np.abs(centred))) + 1e-8)
    return (centred * gain).astype(np.float32), gain
