"""HFFrontend with tiny random WavLM / wav2vec2 / AST models saved to disk and loaded back by folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import (
    ASTConfig,
    ASTFeatureExtractor,
    ASTModel,
    Wav2Vec2Config,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2Model,
    WavLMConfig,
    WavLMModel,
)

from detector.frontends.eat import WeightsUnavailableError
from detector.frontends.hf import HFFrontend

CNN = {"conv_dim": (16,) * 7, "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2}
SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}


def _wave(seconds: float, batch: int = 1, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(batch, round(seconds * 16000), generator=g) + 0.02


@pytest.fixture(scope="module")
def wavlm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wavlm")
    torch.manual_seed(0)
    WavLMModel(WavLMConfig(**SMALL, **CNN, num_buckets=16, max_bucket_distance=64)).save_pretrained(path)
    Wav2Vec2FeatureExtractor(do_normalize=True, return_attention_mask=True).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def wav2vec2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wav2vec2")
    torch.manual_seed(1)
    Wav2Vec2Model(Wav2Vec2Config(**SMALL, **CNN)).save_pretrained(path)  # no preprocessor_config.json
    return path


@pytest.fixture(scope="module")
def ast_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ast")
    torch.manual_seed(2)
    ASTModel(ASTConfig(**SMALL, max_length=128)).save_pretrained(path)
    ASTFeatureExtractor(max_length=128).save_pretrained(path)
    return path


@pytest.mark.parametrize("seconds", [1.0, 2.5])
def test_wavlm_frames_are_20ms_and_match_direct_call(wavlm_dir: Path, seconds: float) -> None:
    fe = HFFrontend.from_pretrained(wavlm_dir)
    wave = _wave(seconds, batch=2)
    out = fe(wave)
    assert fe.frame_s == pytest.approx(0.02) and fe.dim == 32 and fe.normalize
    assert out.shape == (2, fe.num_frames(wave.shape[1]), 32)
    assert abs(out.shape[1] - seconds / 0.02) <= 1  # 1 s -> 49, 2.5 s -> 124
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(wavlm_dir)
    values = extractor(list(wave.numpy()), sampling_rate=16000, return_tensors="pt").input_values
    with torch.no_grad():
        direct = fe.model(input_values=values).last_hidden_state
    torch.testing.assert_close(out, direct, atol=1e-5, rtol=1e-4)


def test_num_frames_matches_model_lengths(wav2vec2_dir: Path) -> None:
    fe = HFFrontend.from_pretrained(wav2vec2_dir)
    assert not fe.normalize  # no preprocessor_config and group-norm CNN: raw waveform, as wav2vec2-base
    for n in (400, 401, 719, 720, 16000, 31999):
        assert fe.num_frames(n) == int(fe.model._get_feat_extract_output_lengths(torch.tensor(n)))
        assert fe(_wave(n / 16000)).shape[1] == fe.num_frames(n)
    assert fe.num_frames(399) == 0
    with pytest.raises(ValueError, match="too short"):
        fe(torch.zeros(1, 300))


def test_layer_selection_and_weighted_sum(wav2vec2_dir: Path) -> None:
    wave = _wave(0.5)
    base = HFFrontend.from_pretrained(wav2vec2_dir)
    with torch.no_grad():
        states = base.model(input_values=wave, output_hidden_states=True).hidden_states
    assert len(states) == 3
    torch.testing.assert_close(HFFrontend.from_pretrained(wav2vec2_dir, layer=1)(wave), states[1])
    weighted = HFFrontend.from_pretrained(wav2vec2_dir, layer="weighted")
    out = weighted(wave)
    torch.testing.assert_close(out, sum(states) / 3)  # zero-initialised weights: plain mean
    out.sum().backward()
    assert weighted.layer_weights.grad is not None
    assert all(p.grad is None for p in weighted.model.parameters())
    with pytest.raises(ValueError, match="out of range"):
        HFFrontend.from_pretrained(wav2vec2_dir, layer=3)


def test_freeze_and_finetune(wav2vec2_dir: Path) -> None:
    fe = HFFrontend.from_pretrained(wav2vec2_dir)
    fe.train()
    assert not fe.model.training and not any(p.requires_grad for p in fe.parameters())
    assert not fe(_wave(0.3)).requires_grad
    tuned = HFFrontend.from_pretrained(wav2vec2_dir, freeze=False)
    tuned.train()
    assert tuned.model.training and not tuned.model.config.apply_spec_augment
    tuned(_wave(0.3)).pow(2).mean().backward()
    assert tuned.model.feature_projection.projection.weight.grad.abs().sum() > 0


@pytest.mark.filterwarnings("ignore:At least one mel filter has all zero values")
def test_ast_features_match_its_extractor_and_resolution_is_100ms(ast_dir: Path) -> None:
    fe = HFFrontend.from_pretrained(ast_dir)
    assert fe.kind == "ast" and fe.frame_s == pytest.approx(0.1)
    assert (fe.freq_patches, fe.window_patches) == (12, 12)  # (128-16)//10+1 mel, (128-16)//10+1 time patches
    wave = _wave(1.0)
    inputs, windows = fe.ast_input(wave)
    extractor = ASTFeatureExtractor.from_pretrained(ast_dir)
    ref = extractor(wave[0].numpy(), sampling_rate=16000, return_tensors="np").input_values
    assert windows == 1 and inputs.shape == ref.shape == (1, 128, 128)
    np.testing.assert_allclose(inputs.numpy(), ref, atol=1e-4)
    out = fe(wave)
    assert out.shape == (1, 10, 32) == (1, fe.num_frames(16000), 32)  # 98 fbank frames -> ceil(98 / 10)
    with torch.no_grad():
        tokens = fe.model(input_values=torch.from_numpy(ref)).last_hidden_state
    direct = tokens[:, 2:].reshape(1, 12, 12, 32).mean(1)[:, :10]  # frequency-major patches
    torch.testing.assert_close(out, direct, atol=1e-4, rtol=1e-4)


def test_ast_windows_advance_by_whole_patches(ast_dir: Path) -> None:
    fe = HFFrontend.from_pretrained(ast_dir)
    wave = _wave(3.0)
    out = fe(wave)
    assert out.shape == (1, 30, 32) == (1, fe.num_frames(wave.shape[1]), 32)
    inputs, windows = fe.ast_input(wave)
    assert windows == 3
    # window 1 starts at fbank frame 120 = patch 12, so frame 12 is its first patch
    torch.testing.assert_close(inputs[1, :8], inputs[0, 120:128])
    changed = wave.clone()
    changed[:, 120 * 160 + 400 + 15 * 160 :] = 0.5  # after the last fbank frame of window 0's patches
    assert torch.equal(fe(changed)[:, :12], out[:, :12])


def test_offline_hub_id_gives_one_actionable_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(WeightsUnavailableError) as info:
        HFFrontend.from_pretrained("microsoft/wavlm-base-plus", local_files_only=True)
    message = str(info.value)
    assert "hf download microsoft/wavlm-base-plus" in message and "HF_HUB_OFFLINE" in message
    with pytest.raises(FileNotFoundError, match="not a Hub id"):
        HFFrontend.from_pretrained(str(tmp_path / "no" / "such" / "dir"))
