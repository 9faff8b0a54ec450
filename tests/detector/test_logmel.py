"""Log-mel front-end: frame grid, spectral placement, registry."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from detector.frontends import LogMelFrontend, create_frontend
from pipeline.timemath import segments_to_frame_labels


@pytest.mark.parametrize("n", [16000, 16001, 15999, 320, 1])
def test_frame_count_matches_label_grid(n):
    fe = LogMelFrontend()
    assert fe.frame_s == 0.02 and fe.dim == 64
    out = fe.eval()(torch.zeros(2, n))
    assert out.shape == (2, math.ceil(n / 320), 64) == (2, fe.num_frames(n), 64)
    assert len(segments_to_frame_labels([], n / 16000, fe.frame_s)) == fe.num_frames(n)


def test_frames_are_centred_on_their_span():
    fe = LogMelFrontend().eval()
    wave = torch.zeros(1, 16000)
    k = 17
    wave[0, k * 320 + 150 : k * 320 + 170] = 1.0  # a click in the middle of frame k's span
    energy = fe.log_mel(wave)[0].exp().sum(dim=1)
    assert int(energy.argmax()) == k


def test_tone_lands_in_the_right_mel_band():
    fe = LogMelFrontend(n_mels=64).eval()
    t = torch.arange(16000) / 16000
    for hz in (500.0, 4000.0):
        band = int(fe.log_mel(torch.sin(2 * math.pi * hz * t)[None])[0].mean(0).argmax())
        weights = fe.mel_fb[:, band]
        centre_hz = float((weights * torch.linspace(0, 8000, len(weights))).sum() / weights.sum())
        assert abs(centre_hz - hz) < 0.1 * hz


def test_registry():
    fe = create_frontend("logmel", sample_rate=32000, hop_length=640, n_fft=1280, n_mels=80)
    assert (fe.sample_rate, fe.frame_s, fe.dim) == (32000, 0.02, 80)
    with pytest.raises(ValueError, match="unknown front-end 'nope'"):
        create_frontend("nope")
    assert np.isfinite(fe(torch.randn(1, 32000)).detach().numpy()).all()
