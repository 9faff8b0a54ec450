"""AudioLDM's log-mel front end against an independent numpy reference (framing + rfft + Slaney mel)."""

from __future__ import annotations

import numpy as np
import torch

from regenerate.audioldm.mel import LOG_CLAMP, LogMel, MelConfig, peak_normalise


def slaney_mel_bank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """librosa's default mel filterbank (Slaney scale, area-normalised triangles), written out: [n_mels, bins]."""

    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        lin = f / (200.0 / 3)
        log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
        return np.where(f >= 1000.0, log, lin)

    def mel_to_hz(m):
        m = np.asarray(m, dtype=np.float64)
        lin = m * (200.0 / 3)
        log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0))
        return np.where(m >= 15.0, log, lin)

    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    bank = np.zeros((n_mels, len(freqs)))
    for i in range(n_mels):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        rising = (freqs - lo) / (mid - lo)
        falling = (hi - freqs) / (hi - mid)
        bank[i] = np.maximum(0, np.minimum(rising, falling)) * 2.0 / (hi - lo)
    return bank


def reference_log_mel(wave: np.ndarray, cfg: MelConfig) -> np.ndarray:
    """Tacotron/AudioLDM STFT: reflect pad n_fft/2, periodic Hann, |X|, mel, log(clamp 1e-5): [frames, n_mels]."""
    padded = np.pad(wave.astype(np.float64), cfg.n_fft // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(cfg.win_length) / cfg.win_length)
    frames = 1 + (len(padded) - cfg.n_fft) // cfg.hop_length
    spec = np.stack(
        [
            np.abs(np.fft.rfft(padded[k * cfg.hop_length : k * cfg.hop_length + cfg.n_fft] * window))
            for k in range(frames)
        ]
    )
    mel = spec @ slaney_mel_bank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax).T
    return np.log(np.maximum(mel, LOG_CLAMP))


def test_log_mel_matches_reference_on_real_audio(real_clip):
    audio, sr = real_clip
    from pipeline.audio_io import resample

    wave = peak_normalise(resample(audio[: sr * 2], sr, 16000))[0]
    cfg = MelConfig()
    ours = LogMel(cfg)(torch.from_numpy(wave)[None])[0].numpy()
    ref = reference_log_mel(wave, cfg)
    assert ours.shape == (len(wave) // cfg.hop_length + 1, 64) == ref.shape
    assert np.abs(ours - ref).max() < 2e-3
    assert ours.min() >= np.log(LOG_CLAMP) - 1e-6


def test_silence_is_the_log_floor():
    mel = LogMel()(torch.zeros(1, 3200))[0]
    assert mel.shape == (21, 64)
    assert torch.allclose(mel, torch.full_like(mel, float(np.log(LOG_CLAMP))))


def test_peak_normalise_is_zero_mean_half_peak():
    x = np.array([0.2, 0.4, -0.1, 0.3], dtype=np.float32)
    y, gain = peak_normalise(x)
    assert abs(float(np.mean(y))) < 1e-7
    assert abs(float(np.max(np.abs(y))) - 0.5) < 1e-6
    np.testing.assert_allclose(y, (x - x.mean()) * gain, atol=1e-7)
