"""Weights and inputs both sides of the oracle comparison can rebuild from a name and a shape (NumPy only).

The upstream run (``make_golden.py``, oracle venv) and our tests (project venv) each build their model, then
overwrite every parameter with :func:`weight` of its *upstream* key name, so the fixtures carry key names and
shapes instead of megabytes of weights. Values are scaled so that signals stay O(1) through deep random nets.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np


def weight(key: str, shape: Sequence[int], seed: int = 0) -> np.ndarray:
    """Deterministic float32 values for the parameter ``key`` (its upstream name) of ``shape``."""
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    shape = tuple(int(s) for s in shape)
    name = key.rsplit(".", 1)[-1]
    if len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        values = rng.standard_normal(shape) / np.sqrt(max(fan_in, 1))
    elif name in ("weight", "gamma"):  # 1-D weights are normalisation scales in these networks
        values = 1.0 + 0.1 * rng.standard_normal(shape)
    else:
        values = 0.02 * rng.standard_normal(shape)
    return values.astype(np.float32)


def input_wave(samples: int, sample_rate: int, seed: int = 0) -> np.ndarray:
    """A test signal with a band limit (so AudioSR's cutoff search has something to find): two tones and
    low-passed noise below ~6 kHz, peak 0.5."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / sample_rate
    noise = rng.standard_normal(samples + 64)
    kernel = np.sinc(np.arange(-32, 33) * 2 * 6000 / sample_rate) * np.hanning(65)
    low = np.convolve(noise, kernel / kernel.sum(), mode="same")[32 : 32 + samples]
    wave = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 2500 * t) + 0.3 * low
    return (0.5 * wave / np.max(np.abs(wave))).astype(np.float32)


def text_embedding(text: str, dim: int = 512) -> np.ndarray:
    """A unit-norm stand-in CLAP text embedding of ``text`` (the oracle replaces the text encoder by this)."""
    vector = weight(f"stub.text.{text}", (dim, 1))[:, 0]
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def stub_eps(x, t, y, w):
    """The stand-in denoiser both sides run (torch tensors): ``tanh(0.5 x + 0.001 t) + 0.1 <y, w>`` per row."""
    import torch

    t = t.reshape(-1, 1, 1, 1).to(x.dtype)
    return torch.tanh(0.5 * x + 0.001 * t) + 0.1 * (y.to(x.dtype) @ w.to(x.dtype)).reshape(-1, 1, 1, 1)
