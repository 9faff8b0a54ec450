"""End-to-end AudioSR upsampling with a tiny random model: rate, length, low band, loudness, seeds, chunking."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from regenerate.audiosr import AudioSRUpsampler, tiny_audiosr_config
from regenerate.audiosr.chunking import crossfade_weights, plan_chunks
from regenerate.audiosr.upsampler import chunk_seed

SR = 48_000


@pytest.fixture(scope="module")
def upsampler() -> AudioSRUpsampler:
    up = AudioSRUpsampler.from_config(tiny_audiosr_config(), device="cpu", seed=0)
    # the vocoder's default init (std 0.01) makes a near-silent tiny model; give it unit-gain random convolutions
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in up.model.vocoder.parameters():
            if p.dim() > 1:
                p.copy_(torch.randn(p.shape, generator=gen) / (p.shape[1] * p.shape[2]) ** 0.5)
    return up


def _band_limited(n: int, sample_rate: int, cutoff_hz: float, seed: int = 0, offset: float = 0.0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(n)
    spectrum = np.fft.rfft(noise)
    spectrum[np.fft.rfftfreq(n, 1 / sample_rate) > cutoff_hz] = 0
    return (np.fft.irfft(spectrum, n) * 0.1 + offset).astype(np.float32)


def _stft(x: np.ndarray) -> np.ndarray:
    window = torch.hann_window(2048, dtype=torch.float64)
    spec = torch.stft(torch.from_numpy(np.asarray(x, np.float64)), 2048, 512, window=window, return_complex=True)
    return spec.numpy()


@pytest.mark.parametrize(("rate", "samples"), [(16_000, 20_807), (44_100, 48_510)])
def test_output_is_48k_float32_mono_of_the_same_duration(upsampler, rate, samples):
    audio = _band_limited(samples, rate, rate / 2 * 0.9)
    out = upsampler.upsample(audio, rate, seed=1, steps=1, guidance=1.0)
    assert out.dtype == np.float32 and out.ndim == 1
    assert len(out) == round(samples * SR / rate)
    assert np.isfinite(out).all()


def test_same_seed_same_output_other_seed_differs(upsampler):
    audio = _band_limited(16_000, 16_000, 4000)
    first = upsampler.upsample(audio, 16_000, seed=7, steps=2)
    np.testing.assert_array_equal(upsampler.upsample(audio, 16_000, seed=7, steps=2), first)
    assert not np.allclose(upsampler.upsample(audio, 16_000, seed=8, steps=2), first)


def test_band_below_cutoff_is_the_inputs_and_level_is_restored(upsampler):
    cutoff = 4000.0
    audio = _band_limited(2 * SR, SR, cutoff, seed=3, offset=0.01)
    out = upsampler.upsample(audio, SR, seed=2, steps=2)
    s_in, s_out = _stft(audio - audio.mean()), _stft(out - out.mean())
    below = slice(2, int(0.9 * cutoff / (SR / 2048)))  # bins safely below the cutoff, DC excluded
    inner = slice(4, -4)
    a, b = s_in[below, inner], s_out[below, inner]
    gain = float(np.real(np.vdot(a, b)) / np.vdot(a, a).real)  # upstream rescales the band by 1/ratio in [0.8, 1.2]
    assert 0.7 < gain < 1.3
    assert np.abs(b - gain * a).max() < 0.02 * np.abs(a).max()
    # the model adds content above the cutoff (random weights: noise), which the input lacks
    above = slice(int(1.2 * cutoff / (SR / 2048)), None)
    assert np.abs(s_out[above, inner]).mean() > 100 * np.abs(s_in[above, inner]).mean()
    # loudness: same peak around the same DC offset as the input
    assert np.max(np.abs(out - out.mean())) == pytest.approx(np.max(np.abs(audio - audio.mean())), rel=1e-3)
    assert out.mean() == pytest.approx(audio.mean(), abs=2e-3)


def test_level_follows_the_input_scale(upsampler):
    audio = _band_limited(SR, SR, 6000, seed=4)
    loud = upsampler.upsample(audio, SR, seed=3, steps=1)
    quiet = upsampler.upsample(audio * 0.05, SR, seed=3, steps=1)
    np.testing.assert_allclose(quiet, loud * 0.05, atol=1e-4 * np.abs(loud).max())


def test_silence_stays_silent(upsampler):
    out = upsampler.upsample(np.zeros(8000, np.float32), 16_000, seed=0)
    assert len(out) == 24_000 and not out.any()


def test_bad_arguments_are_rejected(upsampler):
    with pytest.raises(ValueError, match="mono"):
        upsampler.upsample(np.zeros((2, 100), np.float32), SR, seed=0)
    with pytest.raises(ValueError, match="NaN"):
        upsampler.upsample(np.array([np.nan] * 200, np.float32), SR, seed=0)
    with pytest.raises(ValueError, match="steps"):
        upsampler.upsample(np.ones(4800, np.float32), SR, seed=0, steps=1000)


@pytest.fixture(scope="module")
def long_run(upsampler):
    """A 25 s input through three overlapping 10.24 s chunks, recording each chunk's output."""
    audio = _band_limited(25 * SR, SR, 7000, seed=5)
    pieces = []
    original = upsampler.upsample_chunk

    def recording(*args, **kwargs):
        pieces.append(original(*args, **kwargs))
        return pieces[-1]

    upsampler.upsample_chunk = recording
    try:
        out = upsampler.upsample(audio, SR, seed=11, steps=1, guidance=2.0)
    finally:
        del upsampler.upsample_chunk
    return audio, out, pieces


def test_long_input_is_chunked_and_overlap_added(upsampler, long_run):
    audio, out, pieces = long_run
    spans = plan_chunks(len(audio), upsampler.chunk, upsampler.overlap)
    assert len(spans) == len(pieces) == 3 and len(out) == len(audio)
    expected = np.zeros(len(audio))
    for piece, (start, stop), weight in zip(pieces, spans, crossfade_weights(spans, upsampler.overlap), strict=True):
        expected[start:stop] += weight * piece
    np.testing.assert_allclose(out, expected, atol=1e-6)
    # continuous across chunk joins: no sample step larger than inside the chunks themselves
    steps = np.abs(np.diff(out))
    joins = [range(spans[i + 1][0], spans[i][1]) for i in range(len(spans) - 1)]
    inside = np.ones(len(steps), bool)
    for join in joins:
        inside[join.start - 1 : join.stop] = False
    assert max(steps[j.start - 1 : j.stop].max() for j in joins) <= 1.05 * steps[inside].max()


def test_chunked_equals_unchunked_where_both_apply(upsampler, long_run):
    audio, out, _ = long_run
    spans = plan_chunks(len(audio), upsampler.chunk, upsampler.overlap)
    first = upsampler.upsample(audio[: spans[0][1]], SR, seed=11, steps=1, guidance=2.0)  # one chunk, index 0
    alone = crossfade_weights(spans, upsampler.overlap)[0] == 1.0
    np.testing.assert_array_equal(out[: spans[0][1]][alone], first[alone])
    assert chunk_seed(11, 0) != chunk_seed(11, 1)
