"""AudioSR signal processing and scheduler against independent re-computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import signal
from transformers.audio_utils import mel_filter_bank

from regenerate.audiosr import features as F
from regenerate.audiosr.chunking import crossfade_weights, overlap_add, plan_chunks
from regenerate.audiosr.config import audiosr_config
from regenerate.audiosr.model import build_scheduler

SR = F.SAMPLE_RATE


def _band_limited_noise(seconds: float, cutoff_hz: float, seed: int = 0) -> np.ndarray:
    """White noise with every FFT bin above ``cutoff_hz`` zeroed (a brick-wall low-pass)."""
    noise = np.random.default_rng(seed).standard_normal(int(seconds * SR))
    spectrum = np.fft.rfft(noise)
    spectrum[np.fft.rfftfreq(len(noise), 1 / SR) > cutoff_hz] = 0
    return (np.fft.irfft(spectrum, len(noise)) * 0.2).astype(np.float32)


def test_mel_filterbank_matches_transformers_slaney():
    ours = F.mel_filterbank()
    reference = mel_filter_bank(
        num_frequency_bins=F.N_FFT // 2 + 1, num_mel_filters=F.N_MELS, min_frequency=F.F_MIN,
        max_frequency=F.F_MAX, sampling_rate=SR, norm="slaney", mel_scale="slaney",
    )  # fmt: skip
    assert ours.shape == (256, 1025)
    np.testing.assert_allclose(ours, reference.T, rtol=1e-6, atol=1e-10)


def test_features_frame_count_and_log_mel_definition():
    wave = _band_limited_noise(F.SEGMENT_SAMPLES / SR, 8000)
    feats = F.extract_features(torch.from_numpy(wave)[None])
    assert feats.log_mel.shape == (1, 512, 256) and feats.magnitude.shape == (1, 512, 1024)
    # frame k is centred on sample k*480 of the reflect-padded signal: recompute one frame by hand
    padded = np.pad(wave.astype(np.float64), 784, mode="reflect")
    k = 100
    frame = padded[k * 480 : k * 480 + 2048] * np.hanning(2049)[:-1]  # periodic Hann
    magnitude = np.abs(np.fft.rfft(frame))
    np.testing.assert_allclose(feats.magnitude[0, k].numpy(), magnitude[:1024], rtol=1e-3, atol=1e-3)
    log_mel = np.log(np.maximum(F.mel_filterbank() @ magnitude, 1e-5))
    np.testing.assert_allclose(feats.log_mel[0, k].numpy(), log_mel, atol=1e-3)


@pytest.mark.parametrize("cutoff", [4000.0, 8000.0, 11025.0])
def test_cutoff_estimate_on_low_passed_noise(cutoff):
    wave = _band_limited_noise(5.12, cutoff)
    estimate = F.estimate_cutoff_hz(F.extract_features(torch.from_numpy(wave)[None]).magnitude[0])
    assert 0.95 * cutoff < estimate <= cutoff


def test_cutoff_rule_and_silence_fallback():
    energy = np.array([0.0, 10.0, 80.0, 5.0, 3.0, 1.0, 1.0])  # total 100: cumulative 0 10 90 95 98 99 100
    assert F.locate_cutoff_bin(energy, 0.985) == 4  # highest index whose cumulative sum < 98.5
    assert F.locate_cutoff_bin(energy, 0.5) == 1
    assert F.estimate_cutoff_hz(torch.zeros(10, 1024)) == SR / 2


@pytest.mark.parametrize("kind", F.LOWPASS_TYPES)
def test_lowpass_condition_removes_the_band_above_the_cutoff(kind):
    wave = _band_limited_noise(2.0, 20000, seed=1)
    out = F.lowpass_condition(wave, 6000.0, kind)
    assert out.shape == wave.shape and out.dtype == np.float32
    freqs, p_in = signal.welch(wave, SR, nperseg=4096)
    _, p_out = signal.welch(out, SR, nperseg=4096)
    assert p_out[freqs > 6500].sum() < 1e-4 * p_in[freqs > 6500].sum()
    passband = (freqs > 200) & (freqs < 1500)
    assert 0.5 < p_out[passband].sum() / p_in[passband].sum() <= 1.01
    np.testing.assert_array_equal(F.lowpass_condition(wave, SR / 2, kind), wave)  # full band: unchanged


def test_replace_low_band_puts_the_reference_below_its_cutoff():
    reference = _band_limited_noise(2.0, 5000, seed=2)
    generated = _band_limited_noise(2.0, 22000, seed=3)
    out, cut = F.replace_low_band(generated, reference)
    assert out.shape == generated.shape
    assert abs(cut * SR / F.POST_N_FFT - 5000) < 600
    window = torch.hann_window(F.POST_N_FFT, dtype=torch.float64)

    def stft(x):
        return torch.stft(torch.from_numpy(np.asarray(x, np.float64)), F.POST_N_FFT, F.POST_HOP, window=window,
                          center=True, pad_mode="constant", return_complex=True).numpy()  # fmt: skip

    s_out, s_ref, s_gen = stft(out), stft(reference), stft(generated)
    ratio = np.clip(np.abs(s_ref[cut]).sum() / np.abs(s_gen[cut]).sum(), *F.POST_RATIO_RANGE)
    # a spliced STFT is not exactly consistent: stay a few bins/frames away from the cutoff and the signal edges
    inner = slice(4, -4)
    below = slice(0, cut - 8)
    np.testing.assert_allclose(s_out[below, inner], s_ref[below, inner] / ratio, atol=1e-3 * np.abs(s_ref).max())
    high = np.abs(s_out[cut + 8 :, inner]) - np.abs(s_gen[cut + 8 :, inner])
    assert np.abs(high).max() < 1e-3 * np.abs(s_gen).max()  # above the cutoff the generated band stays


def test_replace_low_mel_bins():
    generated = torch.zeros(1, 1, 8, 16)
    lowpass = torch.full((1, 8, 16), -11.5)
    lowpass[..., :6] = torch.arange(6.0)  # energy only in the first bins
    out = F.replace_low_mel_bins(generated, lowpass)
    cut = F.locate_cutoff_bin(torch.exp(lowpass[0]).sum(0))
    assert 0 < cut < 16
    torch.testing.assert_close(out[0, 0, :, :cut], lowpass[0, :, :cut])
    assert torch.all(out[0, 0, :, cut:] == 0)


def test_normalize_and_restore_level_round_trip():
    wave = _band_limited_noise(1.0, 3000) + 0.05
    normalized, level = F.normalize_for_model(wave)
    assert abs(np.abs(normalized).max() - 0.5) < 1e-6 and abs(normalized.mean()) < 1e-6
    np.testing.assert_allclose(F.restore_level(normalized, level), wave, atol=1e-6)


def test_plan_chunks_and_crossfade_partition_of_unity():
    total, chunk, overlap = 25 * SR, 491_520, 61_440
    spans = plan_chunks(total, chunk, overlap)
    assert spans[0][0] == 0 and spans[-1][1] == total and all(b - a == chunk for a, b in spans)
    assert all(spans[i][1] - spans[i + 1][0] >= overlap for i in range(len(spans) - 1))
    coverage = np.zeros(total)
    for (start, stop), weight in zip(spans, crossfade_weights(spans, overlap), strict=True):
        coverage[start:stop] += weight
    np.testing.assert_allclose(coverage, 1.0, atol=1e-12)
    signal_in = np.random.default_rng(0).standard_normal(total).astype(np.float32)
    rebuilt = overlap_add([signal_in[a:b] for a, b in spans], spans, total, overlap)
    np.testing.assert_allclose(rebuilt, signal_in, atol=1e-6)
    # pieces that disagree (0 vs 1) are joined by a smooth ramp, not a step
    steps = overlap_add([np.full(b - a, float(i % 2)) for i, (a, b) in enumerate(spans)], spans, total, overlap)
    assert np.abs(np.diff(steps)).max() < 3 * np.pi / (2 * overlap)
    assert plan_chunks(1000, chunk, overlap) == [(0, 1000)]


def test_scheduler_matches_upstream_cosine_schedule_and_ddim_step():
    scheduler = build_scheduler(audiosr_config())
    # upstream make_beta_schedule("cosine") + cumprod, in float64
    t = np.arange(1001) / 1000 + 0.008
    f = np.cos(t / 1.008 * np.pi / 2) ** 2
    alphas_cumprod = np.cumprod(1 - (1 - f[1:] / f[:-1]))
    np.testing.assert_allclose(scheduler.alphas_cumprod.numpy(), alphas_cumprod, atol=2e-6)

    scheduler.set_timesteps(50)
    upstream_steps = (np.arange(0, 1000, 20) + 1)[::-1]  # make_ddim_timesteps("uniform") + 1, flipped
    np.testing.assert_array_equal(scheduler.timesteps.numpy(), upstream_steps)

    gen = torch.Generator().manual_seed(0)
    x, v, noise = (torch.randn(1, 4, 8, 8, generator=gen) for _ in range(3))
    for index, eta in ((10, 1.0), (49, 1.0), (20, 0.0)):  # index 49 is the last step (previous alpha = alphas[0])
        step = int(upstream_steps[index])
        a_t = alphas_cumprod[step]
        a_prev = alphas_cumprod[upstream_steps[index + 1]] if index < 49 else alphas_cumprod[0]
        sigma = eta * np.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))
        x0 = np.sqrt(a_t) * x - np.sqrt(1 - a_t) * v  # predict_start_from_z_and_v
        eps = np.sqrt(a_t) * v + np.sqrt(1 - a_t) * x  # predict_eps_from_z_and_v
        expected = np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev - sigma**2) * eps + sigma * noise
        got = scheduler.step(v, step, x, eta=eta, variance_noise=noise).prev_sample
        torch.testing.assert_close(got, expected.float(), atol=1e-4, rtol=1e-4)
