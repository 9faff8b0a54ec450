"""The torchaudio-free log-mel equals torchaudio's MelSpectrogram(slaney, slaney) + AmplitudeToDB.

The reference is a float64 NumPy transcription written from torchaudio's functional code
(``melscale_fbanks``, ``_hz_to_mel``/``_mel_to_hz`` with ``mel_scale="slaney"``, ``spectrogram`` with
``center=True, pad_mode="reflect"``, ``amplitude_to_DB``), computed frame by frame and filter by filter.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from grounding.logmel import LogMel, LogMelConfig, slaney_filterbank


def _hz_to_mel(f: float) -> float:
    f_sp = 200.0 / 3
    if f < 1000.0:
        return f / f_sp
    return 1000.0 / f_sp + math.log(f / 1000.0) / (math.log(6.4) / 27.0)


def _mel_to_hz(m: float) -> float:
    f_sp = 200.0 / 3
    min_log_mel = 1000.0 / f_sp
    if m < min_log_mel:
        return m * f_sp
    return 1000.0 * math.exp(math.log(6.4) / 27.0 * (m - min_log_mel))


def _reference_filterbank(sample_rate, n_fft, f_min, f_max, n_mels) -> np.ndarray:
    n_freqs = n_fft // 2 + 1
    all_freqs = [k * (sample_rate // 2) / (n_freqs - 1) for k in range(n_freqs)]
    m_min, m_max = _hz_to_mel(f_min), _hz_to_mel(f_max)
    f_pts = [_mel_to_hz(m_min + i * (m_max - m_min) / (n_mels + 1)) for i in range(n_mels + 2)]
    fb = np.zeros((n_freqs, n_mels))
    for j in range(n_mels):
        lo, mid, hi = f_pts[j], f_pts[j + 1], f_pts[j + 2]
        for k, f in enumerate(all_freqs):
            down = (f - lo) / (mid - lo)
            up = (hi - f) / (hi - mid)
            fb[k, j] = max(0.0, min(down, up)) * 2.0 / (hi - lo)
    return fb


def _reference_logmel(x: np.ndarray, sample_rate, n_fft, hop, f_min, f_max, n_mels) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    padded = np.pad(x, n_fft // 2, mode="reflect")
    window = np.array([0.5 - 0.5 * math.cos(2 * math.pi * n / n_fft) for n in range(n_fft)])
    n_frames = 1 + (len(padded) - n_fft) // hop
    power = np.stack(
        [np.abs(np.fft.rfft(padded[t * hop : t * hop + n_fft] * window)) ** 2 for t in range(n_frames)], axis=1
    )
    mel = _reference_filterbank(sample_rate, n_fft, f_min, f_max, n_mels).T @ power
    return 10.0 * np.log10(np.maximum(mel, 1e-10))


def test_filterbank_equals_float64_transcription_and_librosa():
    config = LogMelConfig()
    ours = slaney_filterbank(config)
    reference = _reference_filterbank(32000, 1024, 50.0, 14000.0, 64)
    assert ours.shape == (513, 64)
    np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=1e-14)
    librosa = pytest.importorskip("librosa")
    other = librosa.filters.mel(sr=32000, n_fft=1024, n_mels=64, fmin=50.0, fmax=14000.0, htk=False, norm="slaney")
    np.testing.assert_allclose(ours, other.T, rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("n_samples", [32000, 32000 + 123, 3 * 320 + 7])
def test_logmel_equals_float64_transcription(real_clip, n_samples):
    audio, sr = real_clip
    assert sr == 32000
    x = audio[5000 : 5000 + n_samples].astype(np.float32)
    ours = LogMel(LogMelConfig())(torch.from_numpy(x)[None])[0].double().numpy()
    reference = _reference_logmel(x, 32000, 1024, 320, 50.0, 14000.0, 64)
    assert ours.shape == reference.shape == (64, n_samples // 320 + 1)
    loud = reference > -60.0  # float32 rounding dominates far below the signal's level
    assert loud.mean() > 0.9
    assert np.max(np.abs(ours - reference)[loud]) < 5e-4  # measured 2.2e-5 dB on this recording
    assert np.max(np.abs(ours - reference)) < 1e-2


def test_logmel_floor_on_silence():
    out = LogMel(LogMelConfig())(torch.zeros(1, 3200))
    assert torch.all(out == -100.0)


def test_config_rejects_fmax_above_nyquist():
    with pytest.raises(ValueError, match="f_max"):
        LogMelConfig(sample_rate=16000, f_max=14000.0)
