"""Kaldi fbank in torch vs two independent implementations of the Kaldi formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from detector.frontends.eat.fbank import KaldiFbankConfig, kaldi_fbank, kaldi_mel_banks, num_fbank_frames


def _signal(seconds: float = 0.5, sr: int = 16000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 440.0 * t) + 0.05 * rng.standard_normal(t.size) + 0.01).astype(np.float32)


def _numpy_kaldi_fbank(x: np.ndarray, num_mel: int = 128, sr: int = 16000) -> np.ndarray:
    """Straight loop-per-frame transcription of Kaldi's compute-fbank-feats (float64)."""
    size, shift, nfft = 400, 160, 512
    x = x.astype(np.float64)
    window = np.array([0.5 - 0.5 * math.cos(2 * math.pi * n / (size - 1)) for n in range(size)])

    def mel(f: float) -> float:
        return 1127.0 * math.log(1.0 + f / 700.0)

    lo, hi = mel(20.0), mel(sr / 2)
    step = (hi - lo) / (num_mel + 1)
    banks = np.zeros((num_mel, nfft // 2 + 1))
    for m in range(num_mel):
        left, centre, right = lo + m * step, lo + (m + 1) * step, lo + (m + 2) * step
        for k in range(nfft // 2):  # the Nyquist bin stays 0
            z = mel(k * sr / nfft)
            if left < z < right:
                banks[m, k] = (z - left) / (centre - left) if z <= centre else (right - z) / (right - centre)
    out = []
    for start in range(0, len(x) - size + 1, shift):
        frame = x[start : start + size].copy()
        frame -= frame.mean()
        emphasised = frame.copy()
        for j in range(size - 1, 0, -1):
            emphasised[j] = frame[j] - 0.97 * frame[j - 1]
        emphasised[0] = frame[0] - 0.97 * frame[0]
        power = np.abs(np.fft.rfft(emphasised * window, n=nfft)) ** 2
        out.append(np.log(np.maximum(banks @ power, np.finfo(np.float32).eps)))
    return np.array(out)


def test_matches_loop_reference() -> None:
    x = _signal(0.3)
    ours = kaldi_fbank(torch.from_numpy(x))[0].double().numpy()
    ref = _numpy_kaldi_fbank(x)
    assert ours.shape == ref.shape == (num_fbank_frames(len(x), KaldiFbankConfig()), 128)
    np.testing.assert_allclose(ours, ref, atol=5e-4, rtol=0)


@pytest.mark.filterwarnings("ignore:At least one mel filter has all zero values")
def test_matches_transformers_numpy_kaldi_path() -> None:
    """transformers' AST extractor uses this numpy path when torchaudio is missing (mel_scale='kaldi')."""
    from transformers.audio_utils import mel_filter_bank, spectrogram, window_function

    x = _signal(1.0, seed=1)
    filters = mel_filter_bank(
        num_frequency_bins=257,
        num_mel_filters=128,
        min_frequency=20,
        max_frequency=8000,
        sampling_rate=16000,
        norm=None,
        mel_scale="kaldi",
        triangularize_in_mel_space=True,
    )
    ref = spectrogram(
        x,
        window_function(400, "hann", periodic=False),
        frame_length=400,
        hop_length=160,
        fft_length=512,
        power=2.0,
        center=False,
        preemphasis=0.97,
        mel_filters=filters,
        log_mel="log",
        mel_floor=1.192092955078125e-07,
        remove_dc_offset=True,
    ).T
    ours = kaldi_fbank(torch.from_numpy(x))[0].numpy()
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=5e-4, rtol=0)


def test_frame_counts_and_batching() -> None:
    cfg = KaldiFbankConfig()
    assert (cfg.window_size, cfg.window_shift, cfg.fft_size) == (400, 160, 512)
    assert num_fbank_frames(160000, cfg) == 998  # 10.0 s, snip_edges
    assert num_fbank_frames(399, cfg) == 0 and num_fbank_frames(400, cfg) == 1 and num_fbank_frames(560, cfg) == 2
    a, b = _signal(0.2, seed=2), _signal(0.2, seed=3)
    batch = kaldi_fbank(torch.from_numpy(np.stack([a, b])))
    assert torch.equal(batch[1], kaldi_fbank(torch.from_numpy(b))[0])
    with pytest.raises(ValueError, match="shorter than one"):
        kaldi_fbank(torch.zeros(1, 399))


def test_tone_lands_in_its_mel_band_and_silence_hits_the_floor() -> None:
    sr, f0 = 16000, 1000.0
    t = torch.arange(sr // 4) / sr
    fb = kaldi_fbank(torch.sin(2 * math.pi * f0 * t))[0]
    banks = kaldi_mel_banks(KaldiFbankConfig())
    centre_bin = round(f0 * 512 / sr)
    assert fb.mean(0).argmax().item() in set(banks[:, centre_bin].nonzero().flatten().tolist())
    assert banks[:, -1].abs().max() == 0  # Nyquist column unused, as in Kaldi
    silent = kaldi_fbank(torch.zeros(1, 1000))
    assert torch.allclose(silent, torch.full_like(silent, math.log(torch.finfo(torch.float32).eps)))


def test_is_differentiable() -> None:
    x = torch.from_numpy(_signal(0.1)).requires_grad_(True)
    kaldi_fbank(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
