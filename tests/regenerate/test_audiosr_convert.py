"""Key conversion of the official AudioSR checkpoint: coverage, shapes, ignore rules, and loading through it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from regenerate.audiosr import (
    AudioSRLoadError,
    AudioSRModel,
    AudioSRUpsampler,
    audiosr_config,
    convert_official_state_dict,
    tiny_audiosr_config,
)
from regenerate.audiosr.convert import SYNTHESISED_KEYS, classify_ignored, to_official_state_dict
from regenerate.audiosr.model import build_scheduler

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "audiosr_keys.json"


@pytest.fixture(scope="module")
def official_keys() -> tuple[dict[str, list[int]], dict[str, str], dict]:
    """(mapped key -> shape, ignored key -> expected rule, fixture) with the fixture's ignored groups expanded."""
    fixture = json.loads(FIXTURE.read_text())
    mapped = {prefix + rest: shape for prefix, group in fixture["mapped"].items() for rest, shape in group.items()}
    unet = [k for k in mapped if k.startswith("model.diffusion_model.")]
    ignored = {"model_ema." + k[len("model.") :].replace(".", ""): "ema_unet" for k in unet}
    ignored |= {"model_ema.decay": "ema_unet", "model_ema.num_updates": "ema_unet"}
    unused = ("first_stage_model.decoder.", "first_stage_model.post_quant_conv.", "first_stage_model.vocoder.")
    for key in mapped:
        if key.startswith(unused):
            ignored["cond_stage_models.0.vae." + key[len("first_stage_model.") :]] = "cond_vae_decoder"
    ignored |= {k: "clap" for k in fixture["ignored"]["clap"]["examples"]}
    ignored |= {k: "diffusion_schedule" for k in fixture["ignored"]["diffusion_schedule"]["keys"]}
    return mapped, ignored, fixture


def _meta_state(shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    return {k: torch.empty(shape, device="meta") for k, shape in shapes.items()}


def test_fixture_accounts_for_every_official_key(official_keys):
    mapped, ignored, fixture = official_keys
    groups = fixture["ignored"]
    for rule in ("ema_unet", "cond_vae_decoder", "diffusion_schedule"):
        assert sum(r == rule for r in ignored.values()) == groups[rule]["count"]
    total = len(mapped) + sum(g["count"] for g in groups.values())
    assert total == fixture["meta"]["n_keys"] == 3742


def test_every_official_key_is_mapped_or_ignored_with_matching_shapes(official_keys):
    mapped, ignored, _ = official_keys
    converted, ignored_out = convert_official_state_dict(_meta_state(mapped | {key: [1] for key in ignored}))
    assert sorted(ignored_out) == sorted(ignored)
    assert {k: classify_ignored(k) for k in ignored_out} == ignored
    with torch.device("meta"):
        model = AudioSRModel(audiosr_config())  # real size, no memory
    ours = model.state_dict()
    assert sorted(set(ours) - set(converted)) == []  # nothing missing
    assert sorted(set(converted) - set(ours)) == []  # nothing unexpected
    assert {k: tuple(v.shape) for k, v in converted.items()} == {k: tuple(v.shape) for k, v in ours.items()}
    assert len(converted) == len(mapped) + len(SYNTHESISED_KEYS)


def test_unknown_key_is_an_error_not_silently_dropped(official_keys):
    mapped, _, _ = official_keys
    state = _meta_state(mapped)
    state["model.diffusion_model.input_blocks.99.0.in_layers.0.weight"] = torch.empty(4, device="meta")
    with pytest.raises(ValueError, match="neither mapped nor ignored"):
        convert_official_state_dict(state)


def test_wrapped_state_dict_and_legacy_clap_key_are_accepted(official_keys):
    mapped, _, _ = official_keys
    state = _meta_state(mapped) | {"clap.model.text_branch.embeddings.position_ids": torch.empty(1, 514, device="meta")}
    converted, ignored = convert_official_state_dict({"state_dict": state})
    assert ignored == ["clap.model.text_branch.embeddings.position_ids"]
    assert "unet.conv_in.weight" in converted


def _tiny_official_checkpoint(path: Path, seed: int = 3) -> AudioSRUpsampler:
    """A tiny random model saved in the official format (plus ignored extras), and the model itself."""
    config = tiny_audiosr_config()
    reference = AudioSRUpsampler.from_config(config, device="cpu", seed=seed)
    with torch.no_grad():
        reference.model.scale_factor.fill_(0.75)
    official = to_official_state_dict(reference.model.state_dict(), config)
    official["model_ema.decay"] = torch.tensor(0.9999)
    official["clap.model.logit_scale_a"] = torch.tensor(1.0)
    official["alphas_cumprod"] = build_scheduler(config).alphas_cumprod.clone()
    torch.save({"state_dict": official}, path)
    return reference


def test_from_pretrained_local_file_and_folder_reproduce_the_model(tmp_path):
    file = tmp_path / "pytorch_model.bin"
    reference = _tiny_official_checkpoint(file)
    audio = np.random.default_rng(0).standard_normal(16_000).astype(np.float32) * 0.1
    expected = reference.upsample(audio, 16_000, seed=5, steps=1, guidance=2.0)
    for source in (file, tmp_path):
        loaded = AudioSRUpsampler.from_pretrained(str(source), device="cpu", config=tiny_audiosr_config())
        assert float(loaded.model.scale_factor) == 0.75
        np.testing.assert_array_equal(loaded.upsample(audio, 16_000, seed=5, steps=1, guidance=2.0), expected)


def test_wrong_schedule_in_checkpoint_is_rejected(tmp_path):
    file = tmp_path / "pytorch_model.bin"
    _tiny_official_checkpoint(file)
    payload = torch.load(file, weights_only=True)
    payload["state_dict"]["alphas_cumprod"] = torch.linspace(1, 0, 1000)
    torch.save(payload, file)
    with pytest.raises(AudioSRLoadError, match="diffusion schedule"):
        AudioSRUpsampler.from_pretrained(str(file), device="cpu", config=tiny_audiosr_config())


def test_offline_hub_id_gives_one_actionable_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(AudioSRLoadError) as info:
        AudioSRUpsampler.from_pretrained("haoheliu/audiosr_basic", device="cpu")
    message = str(info.value)
    assert "haoheliu/audiosr_basic" in message
    assert "hf download haoheliu/audiosr_basic pytorch_model.bin" in message
    assert "HF_HOME" in message and "HF_HUB_OFFLINE" in message and "local" in message
    assert "\n" not in message


def test_missing_local_path_and_folder_without_checkpoint(tmp_path):
    with pytest.raises(AudioSRLoadError, match=r"no pytorch_model\.bin"):
        AudioSRUpsampler.from_pretrained(str(tmp_path), device="cpu")
    with pytest.raises(AudioSRLoadError, match="not an existing file"):
        AudioSRUpsampler.from_pretrained(str(tmp_path / "nope" / "deeper" / "x.bin"), device="cpu")
