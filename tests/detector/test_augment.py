"""Augmentation: seeded, length-preserving, and each transform does what it says."""

from __future__ import annotations

import numpy as np

from detector.augment import AugmentConfig, augment_wave, low_pass, mu_law_8bit, recording_history


def test_seeded_and_length_preserving():
    x = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    cfg = AugmentConfig(p_gain=1, p_noise=1, p_resample=1, p_mulaw=1, p_lowpass=1)
    a = augment_wave(x, 16000, np.random.default_rng(5), cfg)
    b = augment_wave(x, 16000, np.random.default_rng(5), cfg)
    c = augment_wave(x, 16000, np.random.default_rng(6), cfg)
    assert a.shape == x.shape and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    off = AugmentConfig(p_gain=0, p_noise=0, p_resample=0, p_mulaw=0, p_lowpass=0, p_history=0)
    assert np.array_equal(augment_wave(x, 16000, np.random.default_rng(1), off), x)


def test_mu_law_is_a_coarse_quantiser():
    x = np.linspace(-0.9, 0.9, 10001, dtype=np.float32)
    y = mu_law_8bit(x)
    assert len(np.unique(y)) <= 256 and np.max(np.abs(y - x)) < 0.03


def test_low_pass_removes_highs():
    t = np.arange(16000) / 16000
    low, high = np.sin(2 * np.pi * 300 * t), np.sin(2 * np.pi * 6000 * t)
    y = low_pass((low + high).astype(np.float32), 16000, 2000)
    spec = np.abs(np.fft.rfft(y))
    assert spec[6000] < 1e-3 * spec[300]


def test_recording_histories_are_seeded_and_vary():
    rate = 32000
    x = np.random.default_rng(0).standard_normal(rate).astype(np.float32) * 0.1
    outs = [recording_history(x, rate, np.random.default_rng(s)) for s in range(12)]
    assert all(o.shape == x.shape and o.dtype == np.float32 for o in outs)
    assert np.array_equal(outs[3], recording_history(x, rate, np.random.default_rng(3)))
    highs = [np.sum(np.abs(np.fft.rfft(o))[8500 * len(o) // rate :] ** 2) / np.sum(np.abs(np.fft.rfft(o)) ** 2)
             for o in outs]
    assert min(highs) < 1e-3 < max(highs)  # some draws are band-limited to <= 8 kHz, others keep the band
