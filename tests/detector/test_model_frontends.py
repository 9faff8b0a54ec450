"""Detector model over other front-ends (tiny EAT from a config dict): labels at its true resolution,
checkpoint round trip, frozen pretrained front-ends left out of the checkpoint."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from detector.model import DetectorConfig, build_model, load_model, save_model

TINY_EAT = {"embed_dim": 32, "depth": 1, "num_heads": 2, "mlp_ratio": 2.0}


@pytest.mark.parametrize("freeze", [False, True])
def test_tiny_eat_detector_round_trip(tmp_path, freeze):
    torch.manual_seed(0)
    cfg = DetectorConfig(model="mrtcn", frontend="eat", frontend_kwargs={"config": TINY_EAT},
                         backend_kwargs={"channels": 16, "dilations": [1]}, freeze_frontend=freeze)
    model = build_model(cfg).eval()
    assert model.frame_s == pytest.approx(0.16) and not model.backend.spectral_stem
    wave = 0.1 * torch.randn(1, 16000 * 2)
    frames, clip = model(wave)
    assert frames.shape == (1, model.num_frames(wave.shape[1])) and clip.shape == (1,)
    save_model(model, tmp_path)
    stored = load_file(str(tmp_path / "model.safetensors"))
    # randomly initialised from a config: stored even when frozen (only hub-loaded frozen encoders are not)
    assert any(k.startswith("frontend.") for k in stored)
    again = load_model(tmp_path)
    with torch.no_grad():
        assert torch.equal(again(wave)[0], frames.detach())


def test_frozen_pretrained_frontend_is_not_copied_into_checkpoints():
    from detector.model import _stores_frontend

    assert not _stores_frontend(DetectorConfig(frontend="eat", freeze_frontend=True))
    assert _stores_frontend(DetectorConfig(frontend="eat", freeze_frontend=False))
    assert _stores_frontend(DetectorConfig(frontend="logmel", freeze_frontend=True))
