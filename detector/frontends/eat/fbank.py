"""Kaldi-compatible log-mel filterbank (``compute-fbank-feats``) in plain torch, batched and differentiable.

Matches the Kaldi / ``torchaudio.compliance.kaldi.fbank`` recipe used by EAT and AST: framing with
``snip_edges`` (only whole frames), optional dither, per-frame DC removal, pre-emphasis (the first sample
of a frame is pre-emphasised against itself), a window, zero padding to a power-of-two FFT, the power
spectrum, triangular filters spaced on Kaldi's mel scale ``1127 ln(1 + f / 700)`` (the Nyquist bin gets
weight 0), and a natural log floored at float32 epsilon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from detector.frontends.base import float32_features

#: ``std::numeric_limits<float>::epsilon()``: Kaldi's floor before the log.
FLOAT_EPS = float(torch.finfo(torch.float32).eps)
WINDOW_TYPES = ("hanning", "povey", "hamming", "rectangular")


@dataclass(frozen=True)
class KaldiFbankConfig:
    """Parameters of the filterbank; the defaults are EAT's (and AST's) front end."""

    sample_rate: int = 16000
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    num_mel_bins: int = 128
    low_freq: float = 20.0
    high_freq: float = 0.0  # <= 0: offset from Nyquist
    preemphasis: float = 0.97
    remove_dc_offset: bool = True
    window_type: str = "hanning"
    round_to_power_of_two: bool = True
    use_power: bool = True
    dither: float = 0.0

    def __post_init__(self) -> None:
        if self.window_type not in WINDOW_TYPES:
            raise ValueError(f"window_type must be one of {WINDOW_TYPES}, got {self.window_type!r}")
        if not 0.0 <= self.preemphasis <= 1.0:
            raise ValueError(f"preemphasis must be in [0, 1], got {self.preemphasis}")

    @property
    def window_size(self) -> int:
        """Samples per frame (400 at 16 kHz / 25 ms)."""
        return int(self.sample_rate * self.frame_length_ms * 0.001)

    @property
    def window_shift(self) -> int:
        """Samples between frame starts (160 at 16 kHz / 10 ms)."""
        return int(self.sample_rate * self.frame_shift_ms * 0.001)

    @property
    def fft_size(self) -> int:
        """FFT length (512 for a 400-sample frame when rounding to a power of two)."""
        n = self.window_size
        return 1 << (n - 1).bit_length() if self.round_to_power_of_two else n


def num_fbank_frames(num_samples: int, cfg: KaldiFbankConfig) -> int:
    """Frames Kaldi emits with ``snip_edges=True``: only frames that fit entirely (10.0 s -> 998)."""
    if num_samples < cfg.window_size:
        return 0
    return 1 + (num_samples - cfg.window_size) // cfg.window_shift


def kaldi_mel_scale(freq_hz: torch.Tensor | float) -> torch.Tensor | float:
    """Kaldi's mel scale, ``1127 ln(1 + f / 700)``."""
    if isinstance(freq_hz, torch.Tensor):
        return 1127.0 * torch.log1p(freq_hz / 700.0)
    return 1127.0 * math.log1p(freq_hz / 700.0)


def kaldi_mel_banks(cfg: KaldiFbankConfig, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Triangular mel filters ``(num_mel_bins, fft_size // 2 + 1)``; the Nyquist column is zero.

    Bin edges are equally spaced in mel between ``low_freq`` and ``high_freq``; each filter rises linearly
    (in mel) from its left edge to its centre and falls to its right edge. Computed in float64.
    """
    nyquist = 0.5 * cfg.sample_rate
    high = cfg.high_freq if cfg.high_freq > 0.0 else nyquist + cfg.high_freq
    if not 0.0 <= cfg.low_freq < high <= nyquist:
        raise ValueError(f"need 0 <= low_freq < high_freq <= Nyquist, got {cfg.low_freq}, {high}, {nyquist}")
    mel_low, mel_high = kaldi_mel_scale(cfg.low_freq), kaldi_mel_scale(high)
    delta = (mel_high - mel_low) / (cfg.num_mel_bins + 1)
    edges = mel_low + delta * torch.arange(cfg.num_mel_bins + 2, dtype=torch.float64)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    num_fft_bins = cfg.fft_size // 2
    bin_mel = kaldi_mel_scale(torch.arange(num_fft_bins, dtype=torch.float64) * (cfg.sample_rate / cfg.fft_size))
    rising = (bin_mel[None, :] - left) / (centre - left)
    falling = (right - bin_mel[None, :]) / (right - centre)
    banks = torch.clamp(torch.minimum(rising, falling), min=0.0)
    banks = torch.nn.functional.pad(banks, (0, 1))  # Nyquist bin: weight 0
    return banks.to(dtype)


def feature_window(cfg: KaldiFbankConfig, device: torch.device | None = None) -> torch.Tensor:
    """Analysis window of ``window_size`` samples (symmetric Hann for ``hanning``; Hann^0.85 for ``povey``)."""
    n = cfg.window_size
    if cfg.window_type == "rectangular":
        return torch.ones(n, dtype=torch.float64, device=device)
    phase = 2.0 * math.pi * torch.arange(n, dtype=torch.float64, device=device) / (n - 1)
    if cfg.window_type == "hamming":
        return 0.54 - 0.46 * torch.cos(phase)
    hann = 0.5 - 0.5 * torch.cos(phase)
    return hann.pow(0.85) if cfg.window_type == "povey" else hann


@float32_features
def kaldi_fbank(
    wave: torch.Tensor, cfg: KaldiFbankConfig | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Log-mel filterbank of ``wave`` ``(batch, samples)`` or ``(samples,)`` -> ``(batch, frames, mel)``.

    Computed in the input's float dtype (float32 for half inputs). Inputs shorter than one frame raise.
    ``generator`` seeds the dither (only used when ``cfg.dither > 0``).
    """
    cfg = cfg or KaldiFbankConfig()
    if wave.dim() == 1:
        wave = wave[None]
    if wave.dim() != 2:
        raise ValueError(f"expected a waveform of shape (batch, samples), got {tuple(wave.shape)}")
    dtype = wave.dtype if wave.dtype in (torch.float32, torch.float64) else torch.float32
    wave = wave.to(dtype)
    if wave.shape[1] < cfg.window_size:
        raise ValueError(
            f"waveform of {wave.shape[1]} samples is shorter than one {cfg.frame_length_ms} ms frame "
            f"({cfg.window_size} samples at {cfg.sample_rate} Hz)"
        )
    frames = wave.unfold(1, cfg.window_size, cfg.window_shift)  # (batch, frames, window)
    if cfg.dither != 0.0:
        noise = torch.randn(frames.shape, generator=generator, dtype=dtype, device=wave.device)
        frames = frames + cfg.dither * noise
    if cfg.remove_dc_offset:
        frames = frames - frames.mean(dim=-1, keepdim=True)
    if cfg.preemphasis != 0.0:
        previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
        frames = frames - cfg.preemphasis * previous
    frames = frames * feature_window(cfg, wave.device).to(dtype)
    spectrum = torch.fft.rfft(frames, n=cfg.fft_size).abs()
    if cfg.use_power:
        spectrum = spectrum.pow(2)
    mel = spectrum @ kaldi_mel_banks(cfg, dtype).to(wave.device).T
    return mel.clamp_min(FLOAT_EPS).log()
