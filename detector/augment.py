"""Training augmentation applied to a whole clip (real and fake regions alike), seeded.

Gain and additive noise are on by default. A resampling round trip, a low-pass and 8-bit mu-law are
available but OFF by default: each removes or buries exactly the high-band fine structure and phase
evidence that exposes vocoder fakes (measured on the demo corpus, see ``benchmarks/bench_detector.py``),
so a model trained with them learns to ignore it. Enable them explicitly for codec-robustness studies.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from detector.config import AugmentConfig
from pipeline.audio_io import resample


def mu_law_8bit(x: np.ndarray, mu: int = 255) -> np.ndarray:
    """Encode to 8-bit mu-law and decode back (telephone-codec quantisation)."""
    x = np.clip(x, -1.0, 1.0)
    encoded = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    q = np.round((encoded + 1) / 2 * mu) / mu * 2 - 1
    return (np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu).astype(np.float32)


def low_pass(x: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """Zero-phase 8th-order Butterworth low-pass."""
    sos = signal.butter(8, cutoff_hz, btype="low", fs=sample_rate, output="sos")
    return signal.sosfiltfilt(sos, x).astype(np.float32)


def add_noise(x: np.ndarray, rng: np.random.Generator, snr_db: tuple[float, float]) -> np.ndarray:
    """White noise at an SNR drawn uniformly from ``snr_db`` (relative to the mean power of ``x``)."""
    power = float(np.mean(np.square(x, dtype=np.float64))) + 1e-10
    snr = rng.uniform(*snr_db)
    return (x + rng.standard_normal(len(x)).astype(np.float32) * np.float32(np.sqrt(power / 10 ** (snr / 10)))).astype(
        np.float32
    )


def augment_wave(x: np.ndarray, sample_rate: int, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """One random augmentation chain for ``x`` (mono float32), drawn from ``rng``."""
    x = np.asarray(x, dtype=np.float32)
    if rng.random() < cfg.p_resample:
        mid = round(sample_rate * float(rng.choice(cfg.resample_factors)))
        x = resample(resample(x, sample_rate, mid), mid, sample_rate)[: len(x)]
    if rng.random() < cfg.p_lowpass:
        x = low_pass(x, sample_rate, rng.uniform(*cfg.lowpass_fraction) * sample_rate / 2)
    if rng.random() < cfg.p_mulaw:
        x = mu_law_8bit(x)
    if rng.random() < cfg.p_noise:
        x = add_noise(x, rng, cfg.snr_db)
    if rng.random() < cfg.p_gain:
        x = x * np.float32(10 ** (rng.uniform(-cfg.gain_db, cfg.gain_db) / 20))
    return x.astype(np.float32)
