"""AudioSR's latent UNet rebuilt from diffusers blocks.

Upstream it is the openai/LDM ``UNetModel`` with ``extra_sa_layer``: at every attention level each ResBlock is
followed by TWO spatial transformers whose second attention is self-attention as well (no text context). The
math of each piece matches a diffusers block exactly, so this module is a diffusers-style arrangement of
``ResnetBlock2D`` / ``Transformer2DModel`` (``double_self_attention``) / ``Downsample2D`` / ``Upsample2D``; the
key layout differs from the openai one and :mod:`regenerate.audiosr.convert` maps between them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.downsampling import Downsample2D
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.resnet import ResnetBlock2D
from diffusers.models.transformers.transformer_2d import Transformer2DModel
from diffusers.models.upsampling import Upsample2D
from torch import nn

NORM_GROUPS = 32
RESNET_EPS = 1e-5  # openai GroupNorm32 uses torch's default eps


def _resnet(in_ch: int, out_ch: int, temb_ch: int) -> ResnetBlock2D:
    return ResnetBlock2D(
        in_channels=in_ch, out_channels=out_ch, temb_channels=temb_ch, groups=NORM_GROUPS, eps=RESNET_EPS
    )


def _transformer(channels: int, head_channels: int, depth: int) -> Transformer2DModel:
    heads = channels // head_channels
    return Transformer2DModel(
        num_attention_heads=heads,
        attention_head_dim=channels // heads,  # openai "legacy" head width
        in_channels=channels,
        num_layers=depth,
        norm_num_groups=NORM_GROUPS,
        double_self_attention=True,
        activation_fn="geglu",
    )


class AttentionPair(nn.Module):
    """The (optional extra) self-attention transformer followed by the second, also self-attention, transformer."""

    def __init__(self, channels: int, head_channels: int, depth: int, extra: bool):
        super().__init__()
        self.extra = _transformer(channels, head_channels, depth) if extra else None
        self.main = _transformer(channels, head_channels, depth)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.extra is not None:
            h = self.extra(h, return_dict=False)[0]
        return self.main(h, return_dict=False)[0]


class DownLevel(nn.Module):
    """One encoder level: ResBlocks (each optionally followed by attention), then an optional stride-2 conv."""

    def __init__(self, in_ch: int, out_ch: int, temb_ch: int, layers: int, attention: dict | None, downsample: bool):
        super().__init__()
        self.resnets = nn.ModuleList([_resnet(in_ch if i == 0 else out_ch, out_ch, temb_ch) for i in range(layers)])
        self.attentions = nn.ModuleList(
            [AttentionPair(out_ch, **attention) for _ in range(layers)] if attention else []
        )
        self.downsamplers = nn.ModuleList(
            [Downsample2D(out_ch, use_conv=True, out_channels=out_ch, padding=1, name="op")] if downsample else []
        )

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips = []
        for i, resnet in enumerate(self.resnets):
            h = resnet(h, temb)
            if self.attentions:
                h = self.attentions[i](h)
            skips.append(h)
        for down in self.downsamplers:
            h = down(h)
            skips.append(h)
        return h, skips


class MidBlock(nn.Module):
    """ResBlock, attention, ResBlock."""

    def __init__(self, ch: int, temb_ch: int, attention: dict):
        super().__init__()
        self.resnets = nn.ModuleList([_resnet(ch, ch, temb_ch), _resnet(ch, ch, temb_ch)])
        self.attentions = nn.ModuleList([AttentionPair(ch, **attention)])

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.resnets[0](h, temb)
        h = self.attentions[0](h)
        return self.resnets[1](h, temb)


class UpLevel(nn.Module):
    """One decoder level: ResBlocks on [h, skip] (each optionally followed by attention), then optional 2x up."""

    def __init__(
        self, in_ch: int, skip_chs: Sequence[int], out_ch: int, temb_ch: int, attention: dict | None, upsample: bool
    ):
        super().__init__()
        ins = [in_ch] + [out_ch] * (len(skip_chs) - 1)
        self.resnets = nn.ModuleList([_resnet(i + s, out_ch, temb_ch) for i, s in zip(ins, skip_chs, strict=True)])
        self.attentions = nn.ModuleList([AttentionPair(out_ch, **attention) for _ in skip_chs] if attention else [])
        self.upsamplers = nn.ModuleList([Upsample2D(out_ch, use_conv=True, out_channels=out_ch)] if upsample else [])

    def forward(self, h: torch.Tensor, skips: list[torch.Tensor], temb: torch.Tensor) -> torch.Tensor:
        for i, resnet in enumerate(self.resnets):
            h = resnet(torch.cat([h, skips.pop()], dim=1), temb)
            if self.attentions:
                h = self.attentions[i](h)
        for up in self.upsamplers:
            h = up(h)
        return h


class AudioSRUNet(ModelMixin, ConfigMixin):
    """v-prediction UNet over ``[noisy latent ; low-pass latent]`` (no text/cross-attention conditioning).

    Config names follow the upstream ``unet_config`` so the published values can be passed verbatim.
    """

    @register_to_config
    def __init__(
        self,
        in_channels: int = 32,
        out_channels: int = 16,
        model_channels: int = 128,
        channel_mult: Sequence[int] = (1, 2, 3, 5),
        num_res_blocks: int = 2,
        attention_resolutions: Sequence[int] = (8, 4, 2),
        num_head_channels: int = 32,
        extra_sa_layer: bool = True,
        transformer_depth: int = 1,
    ):
        super().__init__()
        temb_ch = model_channels * 4
        self.time_proj = Timesteps(model_channels, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embedding = TimestepEmbedding(model_channels, temb_ch)
        self.conv_in = nn.Conv2d(in_channels, model_channels, 3, padding=1)
        attention = {"head_channels": num_head_channels, "depth": transformer_depth, "extra": extra_sa_layer}

        widths = [model_channels * m for m in channel_mult]
        skip_chs, ch, self.down_blocks = [model_channels], model_channels, nn.ModuleList()
        for level, width in enumerate(widths):
            last = level == len(widths) - 1
            attn = attention if 2**level in attention_resolutions else None
            self.down_blocks.append(DownLevel(ch, width, temb_ch, num_res_blocks, attn, downsample=not last))
            ch = width
            skip_chs += [width] * num_res_blocks + ([] if last else [width])

        self.mid_block = MidBlock(ch, temb_ch, attention)

        self.up_blocks = nn.ModuleList()
        for level in reversed(range(len(widths))):
            level_skips = [skip_chs.pop() for _ in range(num_res_blocks + 1)]
            attn = attention if 2**level in attention_resolutions else None
            self.up_blocks.append(UpLevel(ch, level_skips, widths[level], temb_ch, attn, upsample=level > 0))
            ch = widths[level]

        self.conv_norm_out = nn.GroupNorm(NORM_GROUPS, model_channels, eps=RESNET_EPS)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(model_channels, out_channels, 3, padding=1)

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor | int) -> torch.Tensor:
        """``sample`` ``[B, in_channels, T, F]`` (T, F divisible by 2**(levels-1)) -> ``[B, out_channels, T, F]``."""
        timesteps = torch.as_tensor(timestep, device=sample.device).reshape(-1).expand(sample.shape[0])
        temb = self.time_embedding(self.time_proj(timesteps).to(sample.dtype))
        h = self.conv_in(sample)
        skips = [h]
        for block in self.down_blocks:
            h, block_skips = block(h, temb)
            skips += block_skips
        h = self.mid_block(h, temb)
        for block in self.up_blocks:
            h = block(h, skips, temb)
        return self.conv_out(self.conv_act(self.conv_norm_out(h)))
