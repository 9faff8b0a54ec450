"""Linear-STFT front-end: frame grid, feature layout, and what each feature group measures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from detector.frontends import DEFAULT_FRONTEND, STFTFrontend, create_frontend
from detector.model import DetectorConfig, build_model, load_model, save_model
from pipeline.timemath import segments_to_frame_labels

SR = 32000


@pytest.mark.parametrize("n", [32000, 32001, 31999, 640, 1])
def test_frame_count_matches_label_grid(n):
    fe = STFTFrontend().eval()
    assert fe.frame_s == 0.02 and fe.dim == 64 + 2 * 32
    out = fe(torch.zeros(2, n))
    assert out.shape == (2, math.ceil(n / 640), fe.dim) == (2, fe.num_frames(n), fe.dim)
    assert len(segments_to_frame_labels([], n / SR, fe.frame_s)) == fe.num_frames(n)
    assert torch.isfinite(out).all()


def test_frames_are_centred_on_their_span():
    fe = STFTFrontend().eval()
    wave = torch.zeros(1, SR)
    k = 23
    wave[0, k * 640 + 310 : k * 640 + 330] = 1.0  # a click in the middle of frame k's span
    envelope = fe.features(wave)[0, :, : fe.n_bands]
    assert int(envelope.exp().sum(dim=1).argmax()) == k


def test_tone_lands_in_the_right_band():
    fe = STFTFrontend().eval()
    t = torch.arange(SR) / SR
    for hz in (700.0, 11000.0):
        feats = fe.features(torch.sin(2 * math.pi * hz * t)[None])[0, 2:-2].mean(0)
        band = int(feats[: fe.n_bands].argmax())
        centre_hz = float((fe.env_fb[:, band] * torch.linspace(0, SR / 2, fe.env_fb.shape[0])).sum())
        assert abs(centre_hz - hz) < 0.15 * hz


def test_random_phase_resynthesis_lowers_fine_structure_and_phase_coherence():
    """What a Griffin-Lim start looks like: the same STFT magnitude with random phase, overlap-added."""
    fe = STFTFrontend().eval()
    t = torch.arange(SR) / SR
    x = sum(torch.sin(2 * math.pi * 220 * h * t + h * h) for h in range(1, 60)) / 20
    window = torch.hann_window(1024)
    spec = torch.stft(x, 1024, 256, window=window, return_complex=True)
    phase = 2 * math.pi * torch.rand(spec.shape, generator=torch.Generator().manual_seed(0))
    y = torch.istft(spec.abs() * torch.exp(1j * phase), 1024, 256, window=window, length=SR)
    fine, coh = slice(fe.n_bands, fe.n_bands + fe.n_detail_bands), slice(fe.n_bands + fe.n_detail_bands, None)
    fx, fy = fe.features(x[None])[0, 4:-4], fe.features(y[None])[0, 4:-4]
    assert fx[:, fine].mean() > fy[:, fine].mean() + 0.2
    assert fx[:, coh].mean() > fy[:, coh].mean() + 0.05


def test_fine_structure_separates_flat_from_noisy_spectra_and_ignores_gain():
    fe = STFTFrontend().eval()
    noise = torch.from_numpy(np.random.default_rng(1).standard_normal(SR).astype(np.float32))[None]
    clicks = torch.zeros(1, SR)
    clicks[0, 320::640] = 1.0  # one impulse at each frame centre: a flat magnitude spectrum
    fine = slice(fe.n_bands, fe.n_bands + fe.n_detail_bands)
    f_noise = fe.features(noise)[0, 2:-2, fine]
    f_click = fe.features(clicks)[0, 2:-2, fine]
    assert (f_noise.mean(0) > f_click.mean(0) + 2.0).all()
    louder = fe.features(-4.0 * noise)[0, 2:-2]  # polarity and gain
    torch.testing.assert_close(louder[:, fe.n_bands :], fe.features(noise)[0, 2:-2, fe.n_bands :], atol=1e-3, rtol=0)
    torch.testing.assert_close(louder[:, : fe.n_bands], fe.features(noise)[0, 2:-2, : fe.n_bands] + math.log(16.0),
                               atol=1e-3, rtol=0)


def test_default_detector_uses_it_and_round_trips(tmp_path):
    assert DEFAULT_FRONTEND == "stft" and DetectorConfig().frontend == "stft"
    fe = create_frontend("stft", n_bands=16, n_detail_bands=8, phase=False)
    assert fe.dim == 24
    torch.manual_seed(0)
    cfg = DetectorConfig(frontend_kwargs={"n_bands": 16, "n_detail_bands": 8},
                         backend_kwargs={"channels": 16, "dilations": [1, 2]})
    model = build_model(cfg).eval()
    assert not model.backend.spectral_stem
    wave = 0.1 * torch.randn(1, SR)
    frames, clip = model(wave)
    assert frames.shape == (1, 50) and clip.shape == (1,)
    save_model(model, tmp_path)
    with torch.no_grad():
        assert torch.equal(load_model(tmp_path)(wave)[0], frames.detach())


@pytest.mark.parametrize("norm", ["level", "band"])
def test_envelope_norm_removes_gain_and_keeps_changes_inside_the_clip(norm):
    fe = STFTFrontend(envelope_norm=norm).eval()
    rng = np.random.default_rng(0)
    wave = torch.from_numpy(rng.standard_normal((1, SR)).astype(np.float32) * 0.05)
    wave[0, SR // 2 : SR // 2 + 6400] *= 4  # a louder stretch: what a splice or addition looks like
    wave[0, : SR // 4] = torch.from_numpy(np.fft.irfft(np.fft.rfft(wave[0, : SR // 4].numpy()) * (
        np.arange(SR // 8 + 1) < SR // 32), SR // 4).astype(np.float32))  # a band-limited stretch: empty highs
    base = fe.features(wave)
    for gain in (0.001, 0.1, 3.0):  # empty bands sit on a floor relative to the clip, so even -60 dB is exact
        assert torch.allclose(fe.features(wave * gain), base, atol=1e-2)  # float32 rounding in the fine structure
        assert torch.equal(fe.apply_gain(base, 20 * math.log10(gain)), base)
    env = base[0, :, : fe.n_bands]
    assert float(env[25:35].mean() - env[:20].mean()) > 2.0  # the louder stretch still stands out (~12 dB)
    plain = STFTFrontend().eval()
    assert not torch.allclose(plain.features(wave * 3.0), plain.features(wave), atol=1e-2)
    with pytest.raises(ValueError, match="envelope_norm"):
        STFTFrontend(envelope_norm="cmvn")


def test_band_norm_removes_a_static_eq():
    fe = STFTFrontend(envelope_norm="band").eval()
    wave = np.random.default_rng(1).standard_normal(SR).astype(np.float32) * 0.05
    spectrum = np.fft.rfft(wave)
    spectrum *= np.linspace(0.3, 2.0, len(spectrum))  # a fixed tilt, as a microphone or an EQ adds
    tilted = np.fft.irfft(spectrum, len(wave)).astype(np.float32)
    env = fe.features(torch.from_numpy(np.stack([wave, tilted])))[:, 2:-2, : fe.n_bands]
    level = STFTFrontend(envelope_norm="level").eval().features(torch.from_numpy(np.stack([wave, tilted])))
    assert float((env[0] - env[1]).abs().mean()) < 0.1
    assert float((level[0, 2:-2, : fe.n_bands] - level[1, 2:-2, : fe.n_bands]).abs().mean()) > 0.3


def test_envelope_norm_is_a_model_setting_stored_with_the_checkpoint(tmp_path):
    model = build_model(DetectorConfig(envelope_norm="band"))
    assert model.frontend.envelope_norm == "band"
    save_model(model, tmp_path)
    assert load_model(tmp_path).frontend.envelope_norm == "band"
    legacy = DetectorConfig(envelope_norm="band").to_dict()
    del legacy["envelope_norm"]  # a checkpoint saved before the setting existed was trained without it
    assert DetectorConfig.from_dict(legacy).envelope_norm == "none"
    with pytest.raises(ValueError, match="envelope_norm"):
        DetectorConfig(envelope_norm="cmvn")
    with pytest.raises(ValueError, match="set it once"):
        build_model(DetectorConfig(envelope_norm="band", frontend_kwargs={"envelope_norm": "level"}))
    logmel = build_model(DetectorConfig(frontend="logmel", envelope_norm="band")).frontend.eval()
    wave = torch.from_numpy(np.random.default_rng(2).standard_normal((1, 16000)).astype(np.float32) * 0.05)
    assert torch.allclose(logmel.features(wave * 0.01), logmel.features(wave), atol=1e-3)
