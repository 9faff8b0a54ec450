"""Back-ends: FakeSound reference structure, shapes, and that one step trains every head."""

from __future__ import annotations

import pytest
import torch
from detector_tiny import tiny_detector_config
from torch import nn

from detector.backends import FakeSoundRefBackend, MRTCNBackend, create_backend
from detector.data import collate
from detector.model import build_model
from detector.train import TrainConfig, train_step, trainable_parameters


def test_fakesound_ref_has_the_published_structure():
    m = FakeSoundRefBackend(in_dim=768)
    assert m.resnet.conv_in.in_channels == 768 and m.resnet.conv_in.out_channels == 512
    assert m.resnet.conv_in.kernel_size == (5,) and len(m.resnet.blocks) == 12
    block = m.resnet.blocks[0]
    assert block.conv1.kernel_size == (1,) and block.conv1.in_channels == 512
    assert m.resnet.conv_out.out_channels == 128 and isinstance(m.proj, nn.Linear) and m.proj_norm.num_features == 128
    layers = m.transformer.layers
    assert len(layers) == 2 and layers[0].self_attn.num_heads == 4 and layers[0].linear1.out_features == 1024
    assert layers[0].dropout.p == 0.5
    assert m.lstm.bidirectional and m.lstm.hidden_size == 128
    assert m.frame_head.in_features == 256 and m.clip_head.in_features == 256
    frame, clip = m.eval()(torch.randn(2, 50, 768))
    assert frame.shape == (2, 50) and clip.shape == (2,)


@pytest.mark.parametrize("stem", [True, False])
def test_mrtcn_shapes_any_length(stem):
    m = MRTCNBackend(in_dim=64, channels=16, dilations=(1, 2), spectral_stem=stem).eval()
    for frames in (1, 7, 500):
        frame, clip = m(torch.randn(3, frames, 64))
        assert frame.shape == (3, frames) and clip.shape == (3,)


def test_unknown_backend():
    with pytest.raises(ValueError, match="unknown model"):
        create_backend("nope", 8)


def _batch(model, n=4, seconds=2.0):
    sr = model.sample_rate
    gen = torch.Generator().manual_seed(0)
    items = []
    for i in range(n):
        wave = torch.randn(int(seconds * sr), generator=gen).numpy() * 0.1
        frames = model.num_frames(len(wave))
        labels = torch.zeros(frames).numpy()
        if i % 2:
            labels[frames // 3 : frames // 2] = 1
        items.append((wave, labels, torch.ones(frames).numpy()))
    return collate(items)


@pytest.mark.parametrize("name", ["mrtcn", "fakesound-ref"])
def test_one_step_updates_every_trainable_parameter(name):
    torch.manual_seed(0)
    model = build_model(tiny_detector_config(name)).train()
    params = dict(model.named_parameters())
    assert any(k.startswith("frontend.") for k in params) and any("clip_head" in k for k in params)
    assert any("frame_head" in k for k in params)
    before = {k: p.detach().clone() for k, p in params.items()}
    opt = torch.optim.AdamW(trainable_parameters(model), lr=1e-3, weight_decay=0.0)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    train_step(model, _batch(model), opt, scaler, TrainConfig(), torch.device("cpu"))
    for k, p in params.items():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"{k} got no gradient"
        assert not torch.equal(before[k], p.detach()), f"{k} was not updated"


def test_frozen_frontend_is_not_trained():
    cfg = tiny_detector_config()
    cfg.freeze_frontend = True
    model = build_model(cfg).train()
    assert not model.frontend.training
    front = {k: p.detach().clone() for k, p in model.frontend.named_parameters()}
    stats = model.frontend.norm.running_mean.clone()
    opt = torch.optim.AdamW(trainable_parameters(model), lr=1e-3)
    assert all(not k.startswith("frontend.") for k, p in model.named_parameters() if p.requires_grad)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    train_step(model, _batch(model), opt, scaler, TrainConfig(), torch.device("cpu"))
    assert all(torch.equal(front[k], p) for k, p in model.frontend.named_parameters())
    assert torch.equal(stats, model.frontend.norm.running_mean)
