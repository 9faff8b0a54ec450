"""Published TAG checkpoints: every key of the official model placed, tiny checkpoints loaded back, offline errors."""

from __future__ import annotations

import json

import huggingface_hub.constants
import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from tiny_models import tag_checkpoint, tag_model

from grounding.ground import DEFAULT_TAG_MODEL, ground_sources
from grounding.tag_checkpoint import (
    OPTIONAL_KEYS,
    TagModelUnavailableError,
    config_from_published,
    load_tag_checkpoint,
    map_key,
)
from grounding.tag_grounder import TagGrounder
from grounding.tag_model import TagGroundingModel


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return tag_checkpoint(tmp_path_factory.mktemp("tagckpt"))


def test_every_official_key_maps_onto_the_real_size_model(fixtures_dir):
    official = json.loads((fixtures_dir / "tag_grounding_keys.json").read_text())
    assert len(official) == 274
    published_config = {"sample_rate": 32000, "shared_dim": 512, "text_encoder_name": "laion/clap-htsat-fused"}
    with torch.device("meta"):
        model = TagGroundingModel(config_from_published(published_config))
    own = {k: list(v.shape) for k, v in model.state_dict().items()}
    mapped = {map_key(k): shape for k, shape in official.items()}
    assert len(mapped) == len(official)  # no two official keys land on one parameter
    assert mapped == own
    assert set(OPTIONAL_KEYS) <= set(own)


def test_unknown_key_is_refused():
    with pytest.raises(KeyError):
        map_key("model.cross_encoder.weight")


def test_tiny_checkpoint_round_trip_in_published_layout(tiny_folder, tmp_path, real_clip):
    names = {p.name for p in tiny_folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer_config.json"} <= names
    assert "tokenizer.json" in names or "vocab.json" in names
    keys = load_file(str(tiny_folder / "model.safetensors")).keys()
    assert all(k.startswith("model.") for k in keys)
    assert "model.audio_encoder.melspec_extractor.mel_scale.fb" in keys
    model, tokenizer = load_tag_checkpoint(tiny_folder)
    assert 50 < len(tokenizer) <= model.text_encoder.config.vocab_size
    reference, _ = tag_model(tmp_path, seed=0)  # the same seed built the checkpoint
    audio, sr = real_clip[0][: 2 * 32000], 32000
    ours = TagGrounder(model, tokenizer).frame_probabilities(audio, sr, ["a river flows", "a man speaks"])
    again = TagGrounder(reference, tokenizer).frame_probabilities(audio, sr, ["a river flows", "a man speaks"])
    np.testing.assert_array_equal(ours, again)
    for name, buffer in reference.named_buffers():
        if "running" in name:
            torch.testing.assert_close(model.state_dict()[name], buffer)


def test_checkpoint_without_text_id_buffers_loads(tiny_folder, tmp_path):
    import shutil

    folder = tmp_path / "old"
    shutil.copytree(tiny_folder, folder)
    state = load_file(str(folder / "model.safetensors"))
    for key in ("position_ids", "token_type_ids"):
        del state[f"model.text_encoder.model.embeddings.{key}"]
    save_file(state, str(folder / "model.safetensors"))
    load_tag_checkpoint(folder)
    del state["model.audio_proj.weight"]
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(TagModelUnavailableError, match="lacks 1 TAG model weights"):
        load_tag_checkpoint(folder)


def test_wrong_mel_filterbank_is_refused(tiny_folder, tmp_path):
    import shutil

    folder = tmp_path / "bad"
    shutil.copytree(tiny_folder, folder)
    state = load_file(str(folder / "model.safetensors"))
    key = "model.audio_encoder.melspec_extractor.mel_scale.fb"
    state[key] = state[key].roll(1, 0)
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(TagModelUnavailableError, match="log-mel front end"):
        load_tag_checkpoint(folder)


def test_folder_without_tokenizer_falls_back_to_text_encoder_name(tiny_folder, tmp_path):
    import shutil

    folder = tmp_path / "no_tok"
    folder.mkdir()
    for name in ("model.safetensors", "config.json"):
        shutil.copy(tiny_folder / name, folder / name)
    config = json.loads((folder / "config.json").read_text())
    config["text_encoder_name"] = str(tmp_path / "missing_tokenizer")
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(TagModelUnavailableError, match="tokenizer"):
        load_tag_checkpoint(folder)
    config["text_encoder_name"] = str(tiny_folder)  # a folder with tokenizer files
    (folder / "config.json").write_text(json.dumps(config))
    _, tokenizer = load_tag_checkpoint(folder)
    assert len(tokenizer) > 50


def test_empty_tokenizer_is_refused(tiny_folder, tmp_path):
    import shutil

    folder = tmp_path / "tiny_vocab"
    shutil.copytree(tiny_folder, folder)
    (folder / "tokenizer.json").unlink(missing_ok=True)
    (folder / "vocab.json").write_text(json.dumps({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    with pytest.raises(TagModelUnavailableError, match=r"has \d+ tokens; expected"):
        load_tag_checkpoint(folder)


def test_offline_missing_weights_fail_in_one_line_before_any_clip(tmp_path, monkeypatch, tiny_demo_sources):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    seen = []
    with pytest.raises(TagModelUnavailableError) as info:
        ground_sources(tiny_demo_sources, tmp_path / "out.json", on_clip=seen.append)
    message = str(info.value)
    assert "\n" not in message
    assert DEFAULT_TAG_MODEL in message and "hf download" in message and "HF_HUB_OFFLINE" in message
    assert seen == [] and not (tmp_path / "out.json").exists()


def test_not_a_folder_nor_hub_id():
    with pytest.raises(TagModelUnavailableError, match="neither a folder nor"):
        load_tag_checkpoint("/definitely/not/here")


def _cache_repo(cache, repo_id: str, files: dict[str, bytes]) -> None:
    """A repo in the Hugging Face cache layout (refs/main -> snapshots/<commit>/...), as a download leaves it."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    root = cache / f"models--{repo_id.replace('/', '--')}"
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(commit)
    for name, data in files.items():
        path = root / "snapshots" / commit / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_hub_ids_load_offline_from_the_cache(tiny_folder, tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    model_files = {n: (tiny_folder / n).read_bytes() for n in ("config.json", "model.safetensors")}
    config = json.loads(model_files["config.json"])
    assert config["text_encoder_name"] == "laion/clap-htsat-fused"
    _cache_repo(cache, DEFAULT_TAG_MODEL, model_files)  # the published repo has no tokenizer files
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    with pytest.raises(TagModelUnavailableError) as info:  # the text tower's tokenizer is not cached yet
        load_tag_checkpoint(DEFAULT_TAG_MODEL)
    assert "'laion/clap-htsat-fused' is not in the Hugging Face cache" in str(info.value)
    tokenizer_files = {p.name: p.read_bytes() for p in tiny_folder.iterdir() if p.name.startswith("tokenizer")}
    _cache_repo(cache, "laion/clap-htsat-fused", tokenizer_files)
    model, tokenizer = load_tag_checkpoint(DEFAULT_TAG_MODEL)
    assert len(tokenizer) > 50 and model.config.channels == (4, 4, 8, 8)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_grounding_equals_cpu(tiny_folder, real_clip):
    audio = real_clip[0][: 3 * 32000]
    phrases = ["a river flows", "a man speaks"]
    on_cpu = TagGrounder.from_pretrained(tiny_folder, device="cpu").frame_probabilities(audio, 32000, phrases)
    gpu = TagGrounder.from_pretrained(tiny_folder, device="cuda")
    assert gpu.device.type == "cuda"
    np.testing.assert_allclose(gpu.frame_probabilities(audio, 32000, phrases), on_cpu, atol=1e-4)
