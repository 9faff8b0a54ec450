"""Training augmentation applied to a whole clip (real and fake regions alike), seeded.

On by default: gain, additive noise and a *recording history* (``p_history``): a band limit, resampling,
mono downmix, MP3/Vorbis/Opus and DC drawn by :func:`pipeline.conditions.draw_history`, the same
distribution the demo composer gives its sources and ``fakesound benchmark --conditions`` tests. It is drawn
for reals and fakes alike, so bandwidth or codec never says which is which; a model that learned "no fine
structure above 8 kHz = fake" calls every band-limited real recording fake (measured in issue 11).
A resampling round trip, a Butterworth low-pass and 8-bit mu-law are also available, off by default.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from detector.config import AugmentConfig
from pipeline.audio_io import resample
from pipeline.conditions import apply_conditions, draw_history


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


def recording_history(x: np.ndarray, sample_rate: int, rng: np.random.Generator, levels: bool = False) -> np.ndarray:
    """``x`` through a history drawn by :func:`pipeline.conditions.draw_history` (same length); ``levels``: the
    history may hold a web level treatment (loudness normalisation, limiting, clipping)."""
    return apply_conditions(x, sample_rate, draw_history(rng, sample_rate, levels), rng)


def augment_wave(x: np.ndarray, sample_rate: int, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """One random augmentation chain for ``x`` (mono float32), drawn from ``rng``."""
    x = np.asarray(x, dtype=np.float32)
    if rng.random() < cfg.p_history:
        x = recording_history(x, sample_rate, rng, cfg.history_levels)
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
