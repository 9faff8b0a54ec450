"""TAG network: shapes, 40 ms frames, and equality with a functional transcription of the published forward pass."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tiny_models import tag_model

from grounding.tag_model import TAG_FRAME_S, TagModelConfig


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tag_model(tmp_path_factory.mktemp("tag"))


def _published_forward(model, waveform: torch.Tensor, input_ids, attention_mask) -> torch.Tensor:
    """The published data flow, op by op: (B, 1, T, M) input, BN over mel via transposes, blocks, GRU, match."""
    enc = model.audio_encoder
    x = enc.log_mel(waveform).transpose(1, 2).unsqueeze(1)  # (B, 1, T, M)
    x = enc.bn0(x.transpose(1, 3)).transpose(1, 3)
    for i, pool in enumerate([(2, 2), (2, 2), (1, 2), (1, 2)]):
        block = getattr(enc, f"conv_block{i + 1}")
        x = F.relu_(block.bn1(block.conv1(x)))
        x = F.relu_(block.bn2(block.conv2(x)))
        x = F.avg_pool2d(x, kernel_size=pool) + F.max_pool2d(x, kernel_size=pool)
    x = torch.mean(x, dim=3).transpose(1, 2)
    x, _ = enc.rnn(F.relu_(enc.fc1(x)))
    length = (waveform.shape[1] // 320 + 1) // 4
    out = model.text_encoder.text_model(input_ids=input_ids, attention_mask=attention_mask)
    text = F.normalize(model.text_encoder.text_projection(out.pooler_output), dim=-1)
    audio = model.matcher.audio_proj(x)  # (1, T, D)
    text = model.matcher.text_proj(text).unsqueeze(1)  # (P, 1, D)
    score = (audio * text).sum(-1) / math.sqrt(audio.size(-1))
    return torch.sigmoid(score).clamp(1e-7, 1.0)[:, :length]


@pytest.mark.parametrize("n_samples", [32000 * 3, 32000 * 3 + 700])
def test_matches_published_data_flow(tiny, real_clip, n_samples):
    model, tokenizer = tiny
    audio = torch.from_numpy(real_clip[0][:n_samples].astype(np.float32))
    phrases = ["a river flows", "a dog barks in the distance"]
    tokens = tokenizer(phrases, padding=True, return_tensors="pt")
    with torch.no_grad():
        ours = model.ground(audio, model.embed_phrases(tokens["input_ids"], tokens["attention_mask"]))
        reference = _published_forward(model, audio[None], tokens["input_ids"], tokens["attention_mask"])
    assert ours.shape == (2, (n_samples // 320 + 1) // 4)
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(ours[0], ours[1])  # the phrase matters


def test_ten_seconds_give_250_frames_of_40_ms(tiny):
    model, _ = tiny
    assert model.audio_encoder.valid_frames(320000) == 250 == round(10.0 / TAG_FRAME_S)
    with torch.no_grad():
        probs = model.ground(torch.randn(320000) * 0.1, F.normalize(torch.randn(3, 16), dim=-1))
    assert probs.shape == (3, 250)
    assert float(probs.min()) >= 1e-7 and float(probs.max()) <= 1.0


def test_config_validates():
    with pytest.raises(ValueError, match="channels"):
        TagModelConfig(channels=(4, 8))
    with pytest.raises(ValueError, match="even"):
        TagModelConfig(embed_dim=7)
    assert TagModelConfig().logmel.n_fft == 1024 and TagModelConfig().logmel.hop_length == 320
