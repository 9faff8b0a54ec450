"""Level normalisation at the detector input: playback level cannot change a decision."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from detector.config import DetectorConfig
from detector.inference import Detector
from detector.level import FLOOR_DBFS, TARGET_DBFS, level_statistic, normalise_level
from detector.model import build_model

SR = 32000


def _clip(seconds: float = 10.0, seed: int = 0) -> np.ndarray:
    """Noise bed with a louder tone burst in 3-5 s (a 'region' with its own level); peak about -14 dBFS."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * SR)) / SR
    wave = 0.02 * rng.standard_normal(len(t)) * (1 + 0.5 * np.sin(2 * np.pi * 0.3 * t))
    burst = (t >= 3) & (t < 5)
    wave[burst] += 0.1 * np.sin(2 * np.pi * 880 * t[burst])
    return wave.astype(np.float32)


def _scores(level_norm: bool, gains_db: tuple[float, ...], envelope_norm: str = "none") -> list[tuple[float, ...]]:
    torch.manual_seed(0)
    det = Detector(build_model(DetectorConfig(level_norm=level_norm, envelope_norm=envelope_norm)), device="cpu")
    wave = _clip()
    assert np.abs(wave).max() * 10 ** (12 / 20) < 1.0  # +12 dB does not clip
    return [det.predict_wave((wave * np.float32(10 ** (g / 20))).astype(np.float32)) for g in gains_db]


@pytest.mark.parametrize("level_norm, envelope_norm", [(True, "none"), (False, DetectorConfig().envelope_norm)])
def test_level_norm_and_the_default_model_score_alike_at_plus_minus_12_db(level_norm, envelope_norm):
    (clip0, frames0), *others = _scores(level_norm, (0.0, -12.0, 12.0), envelope_norm)
    for clip, frames in others:
        assert abs(clip - clip0) < 1e-4
        np.testing.assert_allclose(frames, frames0, atol=1e-4)


def test_without_normalisation_level_moves_the_scores():
    """The check above can fail: the same model without either option is level-dependent."""
    (_, frames0), (_, frames1) = _scores(False, (0.0, 12.0), "none")
    assert np.abs(frames1 - frames0).max() > 1e-3


def test_relative_level_inside_the_window_is_kept():
    wave = torch.from_numpy(_clip())[None]
    out = normalise_level(wave, SR)
    gain = out / wave
    torch.testing.assert_close(gain, gain[..., :1].expand_as(gain))  # one scalar: region vs context unchanged
    target = 10 ** (TARGET_DBFS / 20)
    torch.testing.assert_close(level_statistic(out, SR), torch.tensor([target]), rtol=1e-5, atol=0)


def test_near_silence_is_not_blown_up_and_silence_stays_zero():
    quiet = torch.from_numpy(_clip())[None] * 10 ** (-80 / 20)  # statistic far below the floor
    out = normalise_level(quiet, SR)
    max_gain = 10 ** ((TARGET_DBFS - FLOOR_DBFS) / 20)
    torch.testing.assert_close(out, quiet * max_gain)
    assert level_statistic(out, SR).item() < 10 ** (TARGET_DBFS / 20) / 10  # stays > 20 dB below the target
    assert normalise_level(torch.zeros(2, SR), SR).abs().max() == 0


@pytest.mark.parametrize("legacy", [True, False])
def test_checkpoints_from_before_the_option_load_without_it(legacy):
    data = DetectorConfig(level_norm=True).to_dict()
    if legacy:
        data.pop("level_norm")
    assert DetectorConfig.from_dict(data).level_norm is (not legacy)
