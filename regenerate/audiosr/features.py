"""AudioSR's signal processing: 48 kHz mel front end, cutoff estimate, low-pass conditioning, band replacement.

Every constant here is fixed by the official checkpoints (they were trained on exactly this front end); the
values and steps follow ``audiosr/utils.py``, ``audiosr/lowpass.py`` and ``LatentDiffusion.generate_batch`` of
haoheliu/versatile_audio_super_resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from scipy import signal

SAMPLE_RATE = 48_000
N_FFT = 2048
HOP = 480
N_MELS = 256
F_MIN = 20.0
F_MAX = 24_000.0
LOG_FLOOR = 1e-5
#: Inputs are zero-padded to a multiple of 5.12 s (512 mel frames), as upstream does.
SEGMENT_SAMPLES = 245_760
#: The cutoff is the highest bin below which less than this share of the spectral magnitude lies.
CUTOFF_SHARE = 0.985
#: A cutoff under this is treated as "no band limit" (almost silent input), as upstream does.
MIN_CUTOFF_HZ = 1000.0
#: Input and output are peak-normalised to this level around the model.
MODEL_PEAK = 0.5
#: Filter families upstream draws from at random for the low-pass conditioning (order 8, zero-phase).
LOWPASS_TYPES = ("butter", "cheby1", "ellip", "bessel")
LOWPASS_ORDER = 8
#: STFT of the final band replacement: librosa 0.9.2 (pinned upstream) ``stft`` defaults: n_fft 2048, hop 512,
#: centred with ``pad_mode="constant"`` (zeros; librosa switched its default from reflect to constant in 0.9).
POST_N_FFT = 2048
POST_HOP = 512
#: The replacement gain (input band / generated band at the cutoff bin) is clipped to this range.
POST_RATIO_RANGE = (0.8, 1.2)


def hz_to_mel_slaney(freq: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above (27 mels per factor 6.4)."""
    freq = np.asarray(freq, dtype=np.float64)
    linear = freq / (200.0 / 3.0)
    log_part = 15.0 + np.log(np.maximum(freq, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(freq >= 1000.0, log_part, linear)


def mel_to_hz_slaney(mels: np.ndarray) -> np.ndarray:
    """Inverse of :func:`hz_to_mel_slaney`."""
    mels = np.asarray(mels, dtype=np.float64)
    linear = mels * (200.0 / 3.0)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mels - 15.0))
    return np.where(mels >= 15.0, log_part, linear)


@lru_cache(maxsize=4)
def mel_filterbank(
    sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS, f_min: float = F_MIN, f_max: float = F_MAX
) -> np.ndarray:
    """Slaney-scale, area-normalised triangular filters ``[n_mels, n_fft // 2 + 1]`` (librosa's default mel basis)."""
    fft_freqs = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    edges = mel_to_hz_slaney(np.linspace(hz_to_mel_slaney(f_min), hz_to_mel_slaney(f_max), n_mels + 2))
    widths = np.diff(edges)
    offsets = edges[:, None] - fft_freqs[None, :]
    rising = -offsets[:-2] / widths[:-1, None]
    falling = offsets[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    weights.setflags(write=False)
    return weights


@dataclass(frozen=True)
class Features:
    """Log-mel ``[B, frames, 256]`` and STFT magnitude ``[B, frames, 1024]`` (Nyquist bin dropped, as upstream)."""

    log_mel: torch.Tensor
    magnitude: torch.Tensor


def extract_features(wave: torch.Tensor) -> Features:
    """Upstream ``mel_spectrogram_train``: reflect-pad (n_fft - hop) / 2, uncentred Hann STFT, magnitude mel, log.

    ``wave`` is ``[B, samples]`` at 48 kHz; a multiple of ``HOP`` samples gives exactly ``samples / HOP`` frames.
    """
    wave = wave.float()
    pad = (N_FFT - HOP) // 2
    padded = torch.nn.functional.pad(wave.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    window = torch.hann_window(N_FFT, device=wave.device)
    spec = torch.stft(padded, N_FFT, hop_length=HOP, win_length=N_FFT, window=window, center=False, return_complex=True)
    magnitude = spec.abs()
    basis = torch.tensor(mel_filterbank(), dtype=torch.float32, device=wave.device)
    log_mel = torch.log(torch.clamp(basis @ magnitude, min=LOG_FLOOR))
    return Features(log_mel=log_mel.transpose(1, 2), magnitude=magnitude[:, :-1].transpose(1, 2))


def locate_cutoff_bin(band_energy: np.ndarray | torch.Tensor, share: float = CUTOFF_SHARE) -> int:
    """Highest bin ``k >= 1`` whose cumulative energy is still below ``share`` of the total (0 when none is)."""
    cumulative = np.cumsum(np.asarray(band_energy, dtype=np.float64))
    below = np.nonzero(cumulative[1:] < cumulative[-1] * share)[0]
    return int(below[-1]) + 1 if below.size else 0


def estimate_cutoff_hz(magnitude: torch.Tensor) -> float:
    """Band limit of one clip from its ``[frames, 1024]`` STFT magnitude; full band when the clip is near silent."""
    bins = magnitude.shape[-1]
    cutoff = locate_cutoff_bin(magnitude.sum(dim=0).cpu()) / bins * (SAMPLE_RATE / 2)
    return float(SAMPLE_RATE / 2) if cutoff < MIN_CUTOFF_HZ else float(cutoff)


def _lowpass_sos(kind: str, normalized_cutoff: float) -> np.ndarray:
    if kind == "butter":
        return signal.butter(LOWPASS_ORDER, normalized_cutoff, btype="low", output="sos")
    if kind == "cheby1":
        return signal.cheby1(LOWPASS_ORDER, 0.1, normalized_cutoff, btype="low", output="sos")
    if kind == "ellip":
        return signal.ellip(LOWPASS_ORDER, 0.1, 60, normalized_cutoff, btype="low", output="sos")
    if kind == "bessel":
        return signal.bessel(LOWPASS_ORDER, normalized_cutoff, btype="low", output="sos")
    raise ValueError(f"unknown low-pass filter type {kind!r} (expected one of {LOWPASS_TYPES})")


def _fit(x: np.ndarray, length: int) -> np.ndarray:
    return x[:length] if len(x) >= length else np.pad(x, (0, length - len(x)))


def lowpass_condition(wave: np.ndarray, cutoff_hz: float, kind: str, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Upstream ``lowpass``: zero-phase IIR, a hard band limit by resampling down to 2·cutoff and back, IIR again.

    A cutoff at (or above) Nyquist leaves the audio unchanged (upstream would fail to design the filter there).
    """
    wave = np.asarray(wave, dtype=np.float64)
    nyquist = sample_rate / 2
    normalized = int(cutoff_hz) / nyquist
    if normalized >= 1.0:
        return wave.astype(np.float32)
    sos = _lowpass_sos(kind, normalized)
    out = _fit(signal.sosfiltfilt(sos, wave), len(wave))
    low_rate = int(normalized * sample_rate)
    out = _fit(signal.resample_poly(signal.resample_poly(out, low_rate, sample_rate), sample_rate, low_rate), len(wave))
    return _fit(signal.sosfiltfilt(sos, out), len(wave)).astype(np.float32)


def replace_low_mel_bins(generated: torch.Tensor, lowpass_mel: torch.Tensor) -> torch.Tensor:
    """Upstream ``mel_replace_ops``: below the low-pass mel's cutoff bin, keep the conditioning mel.

    ``generated`` is ``[B, 1, frames, mels]``, ``lowpass_mel`` ``[B, frames, mels]``; returns a new tensor.
    """
    out = generated.clone()
    for i in range(out.shape[0]):
        cut = locate_cutoff_bin(torch.exp(lowpass_mel[i].float()).sum(dim=0).cpu())
        out[i, :, :, :cut] = lowpass_mel[i, :, :cut].to(out.dtype)
    return out


def _post_stft(x: torch.Tensor) -> torch.Tensor:
    window = torch.hann_window(POST_N_FFT, device=x.device, dtype=x.dtype)
    return torch.stft(x, POST_N_FFT, POST_HOP, window=window, center=True, pad_mode="constant", return_complex=True)


def replace_low_band(generated: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, int]:
    """Upstream ``postprocessing``: below the reference's cutoff bin, the output STFT is the reference's.

    The reference band is divided by the magnitude ratio reference/generated at the cutoff bin (clipped to
    [0.8, 1.2]) so the two halves meet at the same level. Returns (audio of ``len(generated)``, cutoff bin).
    """
    gen = torch.as_tensor(np.asarray(generated, dtype=np.float64))
    ref = torch.as_tensor(np.asarray(reference, dtype=np.float64))
    spec_gen, spec_ref = _post_stft(gen), _post_stft(ref)
    cut = locate_cutoff_bin(spec_ref.abs().sum(dim=-1))
    denominator = float(spec_gen[cut].abs().sum())
    ratio = float(spec_ref[cut].abs().sum()) / denominator if denominator > 0 else POST_RATIO_RANGE[1]
    ratio = min(max(ratio, POST_RATIO_RANGE[0]), POST_RATIO_RANGE[1])
    spec_gen[:cut] = spec_ref[:cut] / ratio
    window = torch.hann_window(POST_N_FFT, dtype=gen.dtype)
    out = torch.istft(spec_gen, POST_N_FFT, POST_HOP, window=window, center=True, length=len(gen))
    return out.numpy().astype(np.float32), cut


@dataclass(frozen=True)
class Level:
    """What the model-side normalisation removed from a clip: its DC offset and its peak."""

    offset: float
    peak: float


def normalize_for_model(wave: np.ndarray) -> tuple[np.ndarray, Level]:
    """Upstream ``normalize_wav``: remove the mean, scale the peak to 0.5."""
    wave = np.asarray(wave, dtype=np.float64)
    offset = float(wave.mean()) if wave.size else 0.0
    centred = wave - offset
    peak = float(np.max(np.abs(centred))) if wave.size else 0.0
    return (centred / (peak + 1e-8) * MODEL_PEAK).astype(np.float32), Level(offset, peak)


def restore_level(wave: np.ndarray, level: Level) -> np.ndarray:
    """Give model output the input's loudness back: remove its mean, match the input's peak, re-add its offset."""
    wave = np.asarray(wave, dtype=np.float64)
    centred = wave - wave.mean()
    peak = float(np.max(np.abs(centred)))
    scaled = centred * (level.peak / peak) if peak > 0 else centred
    return (scaled + level.offset).astype(np.float32)


def pad_to_segments(wave: np.ndarray, segment: int = SEGMENT_SAMPLES) -> np.ndarray:
    """Zero-pad at the end to a whole number of 5.12 s segments (at least one)."""
    target = max(1, -(-len(wave) // segment)) * segment
    return np.pad(wave, (0, target - len(wave)))
