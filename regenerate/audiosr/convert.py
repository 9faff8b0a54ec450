"""Explicit key conversion: official AudioSR ``LatentDiffusion`` state dict -> :class:`AudioSRModel` state dict.

Every official key is either mapped (module renames derived from the config, plus per-module parameter renames)
or ignored by a named rule in :data:`IGNORE_RULES`; anything else is an error. Two keys of our model have no
official counterpart and are synthesised as identities: the vocoder's input normalisation ``vocoder.mean`` /
``vocoder.scale`` (unused, ``normalize_before=False``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from regenerate.audiosr.config import AUDIOSR_CONFIG

SCHEDULE_KEYS = (
    "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
    "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
    "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2", "logvar",
)  # fmt: skip
SYNTHESISED_KEYS = ("vocoder.mean", "vocoder.scale")


@dataclass(frozen=True)
class IgnoreRule:
    """Official keys that inference does not need, matched by prefix or exact name, with the reason."""

    name: str
    reason: str
    prefixes: tuple[str, ...] = ()
    exact: tuple[str, ...] = field(default=())

    def matches(self, key: str) -> bool:
        return key in self.exact or key.startswith(self.prefixes)


IGNORE_RULES = (
    IgnoreRule(
        "ema_unet", "EMA copy of the UNet; upstream inference samples with the non-EMA weights", ("model_ema.",)
    ),
    IgnoreRule("clap", "CLAP audio/text encoder, built by upstream but unused by super-resolution", ("clap.",)),
    IgnoreRule(
        "cond_vae_decoder",
        "decoder side of the conditioning VAE; only its encoder turns the low-pass mel into a latent",
        (
            "cond_stage_models.0.vae.decoder.",
            "cond_stage_models.0.vae.post_quant_conv.",
            "cond_stage_models.0.vae.vocoder.",
        ),
    ),
    IgnoreRule(
        "diffusion_schedule",
        "training-time schedule buffers; the scheduler recomputes them from the config (checked at load)",
        exact=SCHEDULE_KEYS,
    ),
)

# Parameter renames inside one module, by module kind (official sub-path -> ours).
_UNET_RESNET = {
    "in_layers.0": "norm1", "in_layers.2": "conv1", "emb_layers.1": "time_emb_proj",
    "out_layers.0": "norm2", "out_layers.3": "conv2", "skip_connection": "conv_shortcut",
}  # fmt: skip
_VAE_RESNET = {"nin_shortcut": "conv_shortcut"}
_VAE_ATTENTION = {"norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"}
_RENAMES = {"same": {}, "unet_resnet": _UNET_RESNET, "vae_resnet": _VAE_RESNET, "vae_attention": _VAE_ATTENTION}


def classify_ignored(key: str) -> str | None:
    """Name of the rule that ignores ``key``, or None when the key must be mapped."""
    return next((rule.name for rule in IGNORE_RULES if rule.matches(key)), None)


def _unet_prefixes(unet: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Official openai-UNet module prefixes -> (our prefix, kind), walking the same construction order."""
    out = {
        "time_embed.0": ("time_embedding.linear_1", "same"),
        "time_embed.2": ("time_embedding.linear_2", "same"),
        "input_blocks.0.0": ("conv_in", "same"),
        "out.0": ("conv_norm_out", "same"),
        "out.2": ("conv_out", "same"),
    }
    levels, blocks = len(unet["channel_mult"]), unet["num_res_blocks"]
    extra = unet["extra_sa_layer"]

    def attention(official: str, first_layer: int, ours: str) -> int:
        if extra:
            out[f"{official}.{first_layer}"] = (f"{ours}.extra", "same")
            first_layer += 1
        out[f"{official}.{first_layer}"] = (f"{ours}.main", "same")
        return first_layer + 1

    index = 1
    for level in range(levels):
        has_attention = 2**level in unet["attention_resolutions"]
        for i in range(blocks):
            out[f"input_blocks.{index}.0"] = (f"down_blocks.{level}.resnets.{i}", "unet_resnet")
            if has_attention:
                attention(f"input_blocks.{index}", 1, f"down_blocks.{level}.attentions.{i}")
            index += 1
        if level < levels - 1:
            out[f"input_blocks.{index}.0.op"] = (f"down_blocks.{level}.downsamplers.0.conv", "same")
            index += 1

    out["middle_block.0"] = ("mid_block.resnets.0", "unet_resnet")
    last = attention("middle_block", 1, "mid_block.attentions.0")
    out[f"middle_block.{last}"] = ("mid_block.resnets.1", "unet_resnet")

    index = 0
    for up, level in enumerate(reversed(range(levels))):
        has_attention = 2**level in unet["attention_resolutions"]
        for i in range(blocks + 1):
            out[f"output_blocks.{index}.0"] = (f"up_blocks.{up}.resnets.{i}", "unet_resnet")
            layer = attention(f"output_blocks.{index}", 1, f"up_blocks.{up}.attentions.{i}") if has_attention else 1
            if level > 0 and i == blocks:
                out[f"output_blocks.{index}.{layer}.conv"] = (f"up_blocks.{up}.upsamplers.0.conv", "same")
            index += 1
    return {f"model.diffusion_model.{k}": (f"unet.{v}", kind) for k, (v, kind) in out.items()}


def _vae_half_prefixes(official: str, ours: str, vae: Mapping[str, Any], half: str) -> dict[str, tuple[str, str]]:
    """LDM ``Encoder``/``Decoder`` prefixes -> diffusers ``Encoder``/``Decoder`` prefixes (decoder levels reversed)."""
    levels = len(vae["block_out_channels"])
    src, dst = f"{official}.{half}", f"{ours}.{half}"
    out = {
        f"{src}.conv_in": (f"{dst}.conv_in", "same"),
        f"{src}.conv_out": (f"{dst}.conv_out", "same"),
        f"{src}.norm_out": (f"{dst}.conv_norm_out", "same"),
        f"{src}.mid.block_1": (f"{dst}.mid_block.resnets.0", "vae_resnet"),
        f"{src}.mid.block_2": (f"{dst}.mid_block.resnets.1", "vae_resnet"),
        f"{src}.mid.attn_1": (f"{dst}.mid_block.attentions.0", "vae_attention"),
    }
    for level in range(levels):
        if half == "encoder":
            for j in range(vae["layers_per_block"]):
                out[f"{src}.down.{level}.block.{j}"] = (f"{dst}.down_blocks.{level}.resnets.{j}", "vae_resnet")
            if level < levels - 1:
                out[f"{src}.down.{level}.downsample.conv"] = (f"{dst}.down_blocks.{level}.downsamplers.0.conv", "same")
        else:
            mirrored = levels - 1 - level
            for j in range(vae["layers_per_block"] + 1):
                out[f"{src}.up.{level}.block.{j}"] = (f"{dst}.up_blocks.{mirrored}.resnets.{j}", "vae_resnet")
            if level > 0:
                out[f"{src}.up.{level}.upsample.conv"] = (f"{dst}.up_blocks.{mirrored}.upsamplers.0.conv", "same")
    return out


def module_prefix_map(config: Mapping[str, Any] | None = None) -> dict[str, tuple[str, str]]:
    """All official module prefixes -> (our prefix, kind) for ``config`` (default: the published one)."""
    config = config or AUDIOSR_CONFIG
    vae = config["vae"]
    out = _unet_prefixes(config["unet"])
    out |= _vae_half_prefixes("first_stage_model", "vae", vae, "encoder")
    out |= _vae_half_prefixes("first_stage_model", "vae", vae, "decoder")
    out |= _vae_half_prefixes("cond_stage_models.0.vae", "cond_encoder", vae, "encoder")
    out["first_stage_model.quant_conv"] = ("vae.quant_conv", "same")
    out["first_stage_model.post_quant_conv"] = ("vae.post_quant_conv", "same")
    out["cond_stage_models.0.vae.quant_conv"] = ("cond_encoder.quant_conv", "same")
    out["first_stage_model.vocoder"] = ("vocoder", "same")
    for i in range(len(config["vocoder"]["upsample_rates"])):
        out[f"first_stage_model.vocoder.ups.{i}"] = (f"vocoder.upsampler.{i}", "same")
    return out


def _split(key: str, prefixes: Mapping[str, Any]) -> tuple[str, str] | None:
    """(longest matching module prefix, remainder) or None."""
    parts = key.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in prefixes:
            return prefix, ".".join(parts[cut:])
    return None


def convert_key(key: str, prefixes: Mapping[str, tuple[str, str]]) -> tuple[str, str] | None:
    """Our name of one official parameter key and its module kind, or None when no mapping applies."""
    if key == "scale_factor":
        return "scale_factor", "same"
    found = _split(key, prefixes)
    if found is None:
        return None
    prefix, rest = found
    ours, kind = prefixes[prefix]
    module, _, param = rest.rpartition(".")
    module = _RENAMES[kind].get(module, module)
    return ".".join(p for p in (ours, module, param) if p), kind


def convert_official_state_dict(
    state_dict: Mapping[str, torch.Tensor], config: Mapping[str, Any] | None = None
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Official checkpoint weights (optionally wrapped in ``{"state_dict": ...}``) -> (our weights, ignored keys).

    Raises ``ValueError`` naming keys that are neither mapped nor covered by an ignore rule, or that two official
    keys map onto one of ours.
    """
    if "state_dict" in state_dict and isinstance(state_dict["state_dict"], Mapping):
        state_dict = state_dict["state_dict"]
    config = config or AUDIOSR_CONFIG
    prefixes = module_prefix_map(config)
    converted: dict[str, torch.Tensor] = {}
    ignored, unknown = [], []
    for key, tensor in state_dict.items():
        if classify_ignored(key):
            ignored.append(key)
            continue
        mapped = convert_key(key, prefixes)
        if mapped is None:
            unknown.append(key)
            continue
        name, kind = mapped
        if name in converted:
            raise ValueError(f"AudioSR checkpoint: two keys map to {name!r} (second: {key!r})")
        if kind == "vae_attention" and name.endswith(".weight") and tensor.dim() == 4:
            tensor = tensor.reshape(tensor.shape[0], tensor.shape[1])  # 1x1 conv -> linear
        converted[name] = tensor
    if unknown:
        raise ValueError(f"AudioSR checkpoint: {len(unknown)} keys neither mapped nor ignored, e.g. {unknown[:5]}")
    like = next((t for k, t in converted.items() if k.startswith("vocoder.")), None)
    if like is not None:
        dim = config["vocoder"]["model_in_dim"]
        converted["vocoder.mean"] = torch.zeros(dim, dtype=like.dtype, device=like.device)
        converted["vocoder.scale"] = torch.ones(dim, dtype=like.dtype, device=like.device)
    return converted, ignored


def to_official_state_dict(
    state_dict: Mapping[str, torch.Tensor], config: Mapping[str, Any] | None = None
) -> dict[str, torch.Tensor]:
    """Inverse of :func:`convert_official_state_dict` on the mapped keys (writes official-format test checkpoints)."""
    prefixes = module_prefix_map(config or AUDIOSR_CONFIG)
    inverse = {(ours, kind): official for official, (ours, kind) in prefixes.items()}
    by_ours = {ours: kind for ours, kind in prefixes.values()}
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state_dict.items():
        if key in SYNTHESISED_KEYS:
            continue
        if key == "scale_factor":
            out[key] = tensor
            continue
        found = _split(key, by_ours)
        if found is None:
            raise ValueError(f"no official name for {key!r}")
        prefix, rest = found
        kind = by_ours[prefix]
        module, _, param = rest.rpartition(".")
        module = {v: k for k, v in _RENAMES[kind].items()}.get(module, module)
        if kind == "vae_attention" and param == "weight" and tensor.dim() == 2:
            tensor = tensor[:, :, None, None]
        out[".".join(p for p in (inverse[(prefix, kind)], module, param) if p)] = tensor
    return out
