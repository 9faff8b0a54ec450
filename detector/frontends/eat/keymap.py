"""Explicit key map from the official EAT checkpoints onto :class:`EATEncoder`.

Three official layouts are accepted (see ``tests/fixtures/eat_keys.json`` for the full key lists):

* HF release ``model.safetensors`` (``worstchan/EAT-*``): every key starts with ``model.``, e.g.
  ``model.local_encoder.proj.weight``, ``model.blocks.3.norm1.bias``, ``model.fc_norm.weight``.
* fairseq pre-training ``.pt`` (``ckpt["model"]``): ``modality_encoders.IMAGE.*`` and ``blocks.*``; the
  MAE decoder (``modality_encoders.IMAGE.decoder.*``) is dropped; ``_ema`` holds the teacher (same layout).
* fairseq fine-tuned ``.pt``: ``model.modality_encoders.IMAGE.*``, ``model.blocks.*``, ``fc_norm.*``, ``head.*``.

``modality_encoders.IMAGE.context_encoder.norm`` is the same LayerNorm as the HF ``pre_norm`` (a rename,
not a prefix edit). Our own names (``patch_embed``, ``cls_token`` ...) load unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from detector.frontends.eat.model import EATConfig, EATEncoder

_FAIRSEQ_ENCODER = "modality_encoders.IMAGE."

#: HF-release names (without the leading ``model.``) -> our names. ``{i}`` is a block index.
_RULES: tuple[tuple[str, str], ...] = (
    (r"local_encoder\.proj\.(weight|bias)", r"patch_embed.\1"),
    (r"extra_tokens", "cls_token"),
    (r"fixed_positional_encoder\.positions", "pos_table"),
    (r"pre_norm\.(weight|bias)", r"input_norm.\1"),
    (r"blocks\.(\d+)\.norm1\.(weight|bias)", r"blocks.\1.post_attn_norm.\2"),
    (r"blocks\.(\d+)\.norm2\.(weight|bias)", r"blocks.\1.post_mlp_norm.\2"),
    (r"blocks\.(\d+)\.attn\.(qkv|proj)\.(weight|bias)", r"blocks.\1.attn.\2.\3"),
    (r"blocks\.(\d+)\.mlp\.(fc1|fc2)\.(weight|bias)", r"blocks.\1.mlp.\2.\3"),
    (r"fc_norm\.(weight|bias)", r"head_norm.\1"),
    (r"head\.(weight|bias)", r"head.\1"),
)
_COMPILED = tuple((re.compile(pattern), repl) for pattern, repl in _RULES)
#: Official entries that belong to no part of the encoder (pre-training decoder, legacy buffers).
_DROPPED = re.compile(r"(decoder\..*|encoder_mask|alibi_bias|_ema.*)")
_NATIVE = re.compile(
    r"(patch_embed\.(weight|bias)|cls_token|pos_table|input_norm\.(weight|bias)|head_norm\.(weight|bias)"
    r"|head\.(weight|bias)|blocks\.\d+\.(post_attn_norm|post_mlp_norm|attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)"
    r"\.(weight|bias))"
)


class EATKeyError(KeyError):
    """A checkpoint key that the map does not know."""

    def __str__(self) -> str:
        return str(self.args[0])


def to_native_key(name: str) -> str | None:
    """Our parameter name for an official (HF or fairseq) or native key; ``None`` = deliberately dropped.

    Raises :class:`EATKeyError` for a key that belongs to no known layout.
    """
    if _NATIVE.fullmatch(name):
        return name
    rest = name.removeprefix("model.")
    if rest.startswith(_FAIRSEQ_ENCODER):
        rest = rest[len(_FAIRSEQ_ENCODER) :]
        if rest.startswith("context_encoder.norm."):
            rest = "pre_norm." + rest[len("context_encoder.norm.") :]
    if _DROPPED.fullmatch(rest):
        return None
    for pattern, repl in _COMPILED:
        if pattern.fullmatch(rest):
            return pattern.sub(repl, rest)
    raise EATKeyError(f"unknown EAT checkpoint key {name!r}")


@dataclass
class KeyMapResult:
    """Official state dict renamed to our names, and the official keys left out on purpose."""

    state: dict[str, torch.Tensor] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    source_of: dict[str, str] = field(default_factory=dict)  # our name -> official name


def map_state_dict(official: Mapping[str, torch.Tensor]) -> KeyMapResult:
    """Rename every tensor of an official checkpoint; non-tensor entries (fairseq ``_ema`` dict) are dropped."""
    result = KeyMapResult()
    for name, value in official.items():
        if not isinstance(value, torch.Tensor):
            result.dropped.append(name)
            continue
        native = to_native_key(name)
        if native is None:
            result.dropped.append(name)
            continue
        if native in result.state:
            raise EATKeyError(f"keys {result.source_of[native]!r} and {name!r} both map to {native!r}")
        result.state[native] = value
        result.source_of[native] = name
    return result


def infer_config(state: Mapping[str, torch.Tensor]) -> EATConfig:
    """Architecture from tensor shapes (for checkpoints without a ``config.json``); heads = dim / 64."""
    dim = state["patch_embed.weight"].shape[0]
    patch = state["patch_embed.weight"].shape[-1]
    depth = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks."))
    hidden = state["blocks.0.mlp.fc1.weight"].shape[0]
    kwargs = {}
    if "pos_table" in state:
        kwargs["max_time_patches"] = state["pos_table"].shape[1] // (128 // patch)
    return EATConfig(
        embed_dim=dim,
        depth=depth,
        num_heads=max(1, dim // 64),
        mlp_ratio=hidden / dim,
        patch_size=patch,
        qkv_bias="blocks.0.attn.qkv.bias" in state,
        num_classes=state["head.weight"].shape[0] if "head.weight" in state else 0,
        **kwargs,
    )


def load_official_state(encoder: EATEncoder, official: Mapping[str, torch.Tensor], source: str) -> KeyMapResult:
    """Map and load strictly: every encoder tensor must come from the file with the right shape.

    The fixed positional table may be absent (it is a formula; the encoder's own copy is kept).
    Raises ``ValueError`` naming ``source`` and the offending keys otherwise. Tensors are cast to the
    encoder's dtype (fairseq ``.pt`` files store float16).
    """
    mapped = map_state_dict(official)
    own = encoder.state_dict()
    missing = sorted(set(own) - set(mapped.state) - {"pos_table"})
    unexpected = sorted(set(mapped.state) - set(own))
    wrong = sorted(
        f"{mapped.source_of[k]}: {tuple(v.shape)} vs {tuple(own[k].shape)}"
        for k, v in mapped.state.items()
        if k in own and v.shape != own[k].shape
    )
    problems = []
    if missing:
        problems.append(f"missing {missing[:6]}{' ...' if len(missing) > 6 else ''}")
    if unexpected:
        names = [mapped.source_of[k] for k in unexpected]
        problems.append(f"unexpected {names[:6]}{' ...' if len(names) > 6 else ''}")
    if wrong:
        problems.append(f"shape mismatch {wrong[:4]}")
    if problems:
        raise ValueError(f"{source}: EAT checkpoint does not fit the encoder: {'; '.join(problems)}")
    with torch.no_grad():
        for name, tensor in mapped.state.items():
            own[name].copy_(tensor.to(own[name].dtype))
    return mapped
