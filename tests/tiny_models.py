"""Tiny models for tests: the diffusion builders live in ``regenerate.debug_models`` (one place, shared with the
``debug-*`` recipes); here the writers of the published checkpoint folder layouts and the tiny TAG grounding,
CLAP and wav2vec2 models. Tokenizers are built locally with real (small) vocabularies: no hub access."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from transformers import GPT2Model, Wav2Vec2Config, Wav2Vec2Model

from regenerate.debug_models import (  # noqa: F401  (re-exported for the tests)
    MAX_TOKENS,
    UNET_CHANNELS,
    audioldm2_components,
    audioldm_components,
    clap_feature_extractor,
    clap_model,
    clap_text_config,
    roberta_tokenizer,
    scheduler,
    t5_tokenizer,
    vae,
    vocoder,
)


def save_clap(folder: Path, seed: int = 0) -> Path:
    """A tiny CLAP checkpoint in the published ``laion/clap-*`` layout (model, tokenizer, feature extractor)."""
    torch.manual_seed(seed)
    tokenizer = roberta_tokenizer(folder / "roberta_vocab")
    clap_model(len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    clap_feature_extractor().save_pretrained(folder)
    return folder


def save_checkpoint(components: dict[str, Any], folder: Path, audioldm2: bool = False) -> Path:
    """Write ``components`` in the published diffusers folder layout (model_index.json + one folder each).

    Like the published files, the AudioLDM 2 language model is saved as a ``GPT2Model`` and the vocoder
    config says ``model_type: hifigan``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {"_class_name": "AudioLDM2Pipeline" if audioldm2 else "AudioLDMPipeline"}
    for name, component in components.items():
        if name == "language_model":
            base = GPT2Model(component.config)
            base.load_state_dict(component.transformer.state_dict())
            component = base
        component.save_pretrained(folder / name)
        library = "diffusers" if type(component).__module__.startswith("diffusers") else "transformers"
        index[name] = [library, type(component).__name__]
    vocoder_config = folder / "vocoder" / "config.json"
    config = json.loads(vocoder_config.read_text())
    vocoder_config.write_text(json.dumps({**config, "model_type": "hifigan"}))
    (folder / "model_index.json").write_text(json.dumps(index))
    return folder


def save_audiosr(folder: Path, seed: int = 1) -> Path:
    """A tiny AudioSR checkpoint in the published layout (``pytorch_model.bin`` with upstream's key names and
    schedule) plus ``config.json``, the architecture it needs (the ``audiosr_config`` option)."""
    from regenerate.audiosr import AudioSRUpsampler, tiny_audiosr_config
    from regenerate.audiosr.convert import to_official_state_dict
    from regenerate.audiosr.model import build_scheduler

    folder.mkdir(parents=True, exist_ok=True)
    config = tiny_audiosr_config()
    model = AudioSRUpsampler.from_config(config, device="cpu", seed=seed).model
    official = to_official_state_dict(model.state_dict(), config)
    official["alphas_cumprod"] = build_scheduler(config).alphas_cumprod.clone()
    torch.save({"state_dict": official}, folder / "pytorch_model.bin")
    (folder / "config.json").write_text(json.dumps(config))
    return folder


#: Tiny TAG grounding network: the real log-mel front end (32 kHz, 64 mel bins), narrow conv blocks and GRU.
TAG_CHANNELS = (4, 4, 8, 8)


def tag_model(folder: Path, seed: int = 0):
    """(TagGroundingModel, tokenizer): a tiny random TAG model with a one-layer CLAP text tower, eval mode."""
    from grounding.tag_model import TagGroundingModel, TagModelConfig

    torch.manual_seed(seed)
    tokenizer = roberta_tokenizer(folder / "roberta_vocab")
    text = clap_text_config(len(tokenizer)).to_diff_dict()
    text = {k: v for k, v in text.items() if k not in ("model_type", "transformers_version")}
    config = TagModelConfig(channels=TAG_CHANNELS, embed_dim=8, shared_dim=8, text=text)
    model = TagGroundingModel(config)
    for module in model.modules():  # non-trivial batch-norm statistics, so that loading them is tested
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1.0, 1.0)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval(), tokenizer


def tag_checkpoint(folder: Path, seed: int = 0) -> Path:
    """A tiny TAG checkpoint in the published layout (config.json, model.safetensors, tokenizer files)."""
    from grounding.tag_checkpoint import save_tag_checkpoint

    model, tokenizer = tag_model(folder / "build", seed)
    return save_tag_checkpoint(model, folder / "tag", tokenizer)


def wav2vec2_folder(folder: Path, seed: int = 0) -> Path:
    """A tiny wav2vec2 encoder (32 wide, 2 layers, the published 7-layer CNN strides) saved as a model folder."""
    torch.manual_seed(seed)
    config = Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, conv_dim=(16,) * 7,
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
    )
    Wav2Vec2Model(config).save_pretrained(folder)
    return folder
