"""Loading a published TAG checkpoint (hub id or local folder) into :class:`grounding.tag_model.TagGroundingModel`.

Published layout (``wsntxxn/cnn8rnn-laionclap-audiocapsv2-grounding``): ``config.json`` (``sample_rate``,
``shared_dim``, ``text_encoder_name``) and ``model.safetensors`` whose keys start with ``model.``; the
tokenizer is ``text_encoder_name``'s (``laion/clap-htsat-fused``), read from the model folder when it
holds tokenizer files, else from that id or folder. The architecture is fixed by the published code;
a ``config.json`` may add a ``"tag_architecture"`` object (our :class:`TagModelConfig` fields) to
describe another size, as the tests' tiny checkpoints do.

Weights go through :data:`KEY_MAP`, an explicit prefix map; no remote code runs. Every checkpoint key
must map; the only model keys a checkpoint may omit are the text tower's position/token-type id
buffers (constants that older transformers versions did not save). The checkpoint's torchaudio
window and mel filterbank are checked against ours before they are used.
"""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch

from grounding.ground import DEFAULT_TAG_MODEL
from grounding.tag_model import TagGroundingModel, TagModelConfig
from pipeline.checkpoints import CheckpointUnavailable, hub_offline

DEFAULT_TEXT_TOKENIZER = "laion/clap-htsat-fused"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json")
#: Fewer tokens than this means the tokenizer files did not load (transformers 5 then returns an empty tokenizer).
MIN_VOCAB = 50

#: Checkpoint key prefix -> our module's prefix; the first match wins, so exact buffer names come first.
KEY_MAP: tuple[tuple[str, str], ...] = (
    ("model.audio_encoder.melspec_extractor.spectrogram.window", "audio_encoder.log_mel.window"),
    ("model.audio_encoder.melspec_extractor.mel_scale.fb", "audio_encoder.log_mel.filterbank"),
    ("model.audio_encoder.", "audio_encoder."),
    ("model.text_encoder.model.", "text_encoder.text_model."),
    ("model.text_encoder.projection.", "text_encoder.text_projection."),
    ("model.audio_proj.", "matcher.audio_proj."),
    ("model.text_proj.", "matcher.text_proj."),
)
#: Constant buffers of the text tower that a checkpoint may lack; the model's own values stay.
OPTIONAL_KEYS = ("text_encoder.text_model.embeddings.position_ids", "text_encoder.text_model.embeddings.token_type_ids")
_FRONT_END_KEYS = ("audio_encoder.log_mel.window", "audio_encoder.log_mel.filterbank")


class TagModelUnavailableError(CheckpointUnavailable, RuntimeError):
    """The TAG checkpoint cannot be loaded; the message is one line saying what to do."""


def map_key(key: str) -> str:
    """Our parameter name for a checkpoint key; ``KeyError`` for a key the map does not know."""
    for source, target in KEY_MAP:
        if key == source or (source.endswith(".") and key.startswith(source)):
            return target + key[len(source) :]
    raise KeyError(key)


def convert_state_dict(official: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a published state dict to ours; raises ``ValueError`` listing keys it cannot place."""
    unknown = []
    ours = {}
    for key, value in official.items():
        try:
            ours[map_key(key)] = value
        except KeyError:
            unknown.append(key)
    if unknown:
        raise ValueError(f"{len(unknown)} checkpoint keys have no place in the TAG model, e.g. {unknown[:3]}")
    return ours


def _check_front_end(model: TagGroundingModel, state: dict[str, torch.Tensor]) -> None:
    own = model.state_dict()
    for key in _FRONT_END_KEYS:
        if key in state and not torch.allclose(state[key].float(), own[key], rtol=1e-4, atol=1e-7):
            raise ValueError(
                f"checkpoint {key} differs from the log-mel front end's (wrong sample rate or mel parameters?)"
            )


def load_state_dict_into(model: TagGroundingModel, official: dict[str, torch.Tensor]) -> None:
    """Load published weights into ``model``: every key mapped, shapes equal, nothing required missing."""
    state = convert_state_dict(official)
    own = model.state_dict()
    missing = sorted(set(own) - set(state) - set(OPTIONAL_KEYS))
    if missing:
        raise ValueError(f"checkpoint lacks {len(missing)} TAG model weights, e.g. {missing[:3]}")
    wrong = [f"{k} {tuple(v.shape)} != {tuple(own[k].shape)}" for k, v in state.items() if v.shape != own[k].shape]
    if wrong:
        raise ValueError(f"checkpoint shapes do not fit the TAG config: {wrong[:3]}")
    _check_front_end(model, state)
    model.load_state_dict(state, strict=False)


def config_from_published(raw: dict[str, Any]) -> TagModelConfig:
    """Our config from the published ``config.json`` (plus an optional ``tag_architecture`` object)."""
    arch = dict(raw.get("tag_architecture") or {})
    known = {f.name for f in fields(TagModelConfig)}
    unknown = sorted(set(arch) - known)
    if unknown:
        raise ValueError(f"tag_architecture has unknown fields {unknown}")
    sample_rate = int(raw.get("sample_rate", arch.pop("sample_rate", 32000)))
    arch.pop("sample_rate", None)
    if "f_max" not in arch:  # the published encoder: 14 kHz at 32 kHz, Nyquist otherwise
        arch["f_max"] = 14000.0 if sample_rate == 32000 else sample_rate / 2
    if "channels" in arch:
        arch["channels"] = tuple(arch["channels"])
    return TagModelConfig(sample_rate=sample_rate, shared_dim=int(raw.get("shared_dim", 512)), **arch)


def how_to_get(repo_id: str) -> str:
    return (
        f"download it where the Hub is reachable with `hf download {repo_id}` "
        f"(and `hf download {DEFAULT_TEXT_TOKENIZER} --include '*.json' '*.txt'` for the tokenizer), "
        "then set HF_HUB_OFFLINE=1 with the same HF_HOME; or pass a local folder holding config.json, "
        "model.safetensors and the tokenizer files"
    )


def _gist(error: Exception) -> str:
    text = str(error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    return first if len(first) <= 160 else first[:157] + "..."


def resolve_folder(
    id_or_path: str | os.PathLike, what: str = "TAG model", patterns: tuple[str, ...] = (CONFIG_FILE, WEIGHTS_FILE)
) -> Path:
    """A local folder, or the cached/downloaded snapshot of a hub id (only ``patterns`` and tokenizer files)."""
    path = Path(id_or_path).expanduser()
    if path.is_dir():
        return path
    repo_id = str(id_or_path)
    if path.exists() or repo_id.count("/") != 1:
        raise TagModelUnavailableError(f"{what} {repo_id!r} is neither a folder nor a Hugging Face hub id (owner/name)")
    from huggingface_hub import snapshot_download

    patterns = [*patterns, *TOKENIZER_FILES]
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns, local_files_only=True))
    except Exception as cached_error:
        if hub_offline():
            raise TagModelUnavailableError(
                f"{what} {repo_id!r} is not in the Hugging Face cache and HF_HUB_OFFLINE is set: {how_to_get(repo_id)}"
            ) from cached_error
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns))
    except Exception as error:
        raise TagModelUnavailableError(
            f"{what} {repo_id!r} could not be downloaded ({_gist(error)}): {how_to_get(repo_id)}"
        ) from error


def _has_tokenizer(folder: Path) -> bool:
    return (folder / "tokenizer.json").is_file() or (folder / "vocab.json").is_file()


def load_tokenizer(folder: Path, text_encoder_name: str, vocab_size: int):
    """The phrase tokenizer: the model folder's own files, else ``text_encoder_name``'s; its vocabulary checked."""
    from transformers import AutoTokenizer

    source = folder if _has_tokenizer(folder) else resolve_folder(text_encoder_name, "TAG text tokenizer", ())
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(source))
    except Exception as error:
        raise TagModelUnavailableError(f"cannot load the TAG tokenizer from {source} ({_gist(error)})") from error
    if not MIN_VOCAB <= len(tokenizer) <= vocab_size:
        raise TagModelUnavailableError(
            f"TAG tokenizer from {source} has {len(tokenizer)} tokens; expected {MIN_VOCAB}..{vocab_size} "
            "(tokenizer files missing or not the text tower's)"
        )
    return tokenizer


def load_tag_checkpoint(id_or_path: str | os.PathLike = DEFAULT_TAG_MODEL, device: str | torch.device = "cpu"):
    """(model in eval mode on ``device``, tokenizer) from a hub id or a local folder in the published layout.

    Raises :class:`TagModelUnavailableError` (one actionable line) when the files cannot be had.
    """
    from safetensors.torch import load_file

    folder = resolve_folder(id_or_path)
    config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    for needed in (config_path, weights_path):
        if not needed.is_file():
            raise TagModelUnavailableError(f"{folder} has no {needed.name}: {how_to_get(str(id_or_path))}")
    raw = json.loads(config_path.read_text(encoding="utf-8"))
    config = config_from_published(raw)
    model = TagGroundingModel(config)
    try:
        load_state_dict_into(model, load_file(str(weights_path)))
    except ValueError as error:
        raise TagModelUnavailableError(f"{weights_path}: {error}") from error
    vocab_size = model.text_encoder.config.vocab_size
    tokenizer = load_tokenizer(folder, str(raw.get("text_encoder_name", DEFAULT_TEXT_TOKENIZER)), vocab_size)
    return model.to(device).eval(), tokenizer


def save_tag_checkpoint(
    model: TagGroundingModel, folder: str | os.PathLike, tokenizer=None, text_encoder_name: str = DEFAULT_TEXT_TOKENIZER
) -> Path:
    """Write ``model`` in the published layout (inverse of the key map), with our architecture and a tokenizer."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    inverse = {}
    for key, value in model.state_dict().items():
        for source, target in KEY_MAP:
            if key == target or (target.endswith(".") and key.startswith(target)):
                inverse[source + key[len(target) :]] = value.contiguous()
                break
    save_file(inverse, str(folder / WEIGHTS_FILE))
    config = model.config
    top_level = ("sample_rate", "shared_dim")
    arch = {f.name: getattr(config, f.name) for f in fields(TagModelConfig) if f.name not in top_level}
    arch["channels"] = list(config.channels)
    raw = {
        "sample_rate": config.sample_rate,
        "shared_dim": config.shared_dim,
        "text_encoder_name": text_encoder_name,
        "tag_architecture": arch,
    }
    (folder / CONFIG_FILE).write_text(json.dumps(raw, indent=2))
    if tokenizer is not None:
        tokenizer.save_pretrained(str(folder))
    return folder
