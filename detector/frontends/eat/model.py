"""EAT encoder (Efficient Audio Transformer, Chen et al. 2024): a data2vec-2.0 style ViT over log-mel patches.

Architecture of the official releases (EAT-base / EAT-large): ``Conv2d(1, D, 16x16, stride 16)`` over a
``(time, 128 mel)`` fbank -> time-major patch tokens (token ``k`` = time patch ``k // 8``, frequency patch
``k % 8``) -> plus a fixed 2-D sin-cos table (first half of the channels codes the frequency index, second
half the time index) -> a learned CLS token prepended (no position) -> LayerNorm -> ``depth`` **post-LN**
blocks (``x = norm1(x + attn(x)); x = norm2(x + mlp(x))``) -> no final norm. The fine-tuned AudioSet
variant adds ``fc_norm`` + a 527-way linear head on the CLS token.

Our module names describe the roles; ``keymap.py`` maps the official names onto them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class EATConfig:
    """Architecture hyper-parameters; ``base()`` / ``large()`` give the released models."""

    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    patch_size: int = 16
    mel_bins: int = 128
    max_time_patches: int = 768  # rows of the fixed positional table (768 * 16 frames ~ 122.9 s)
    qkv_bias: bool = True
    norm_eps: float = 1e-6
    num_classes: int = 0  # 0: no classifier head (pre-trained release); 527: AudioSet fine-tuned release
    head_norm_eps: float = 1e-5  # fc_norm eps of the HF port (the fairseq classifier used 1e-6)

    def __post_init__(self) -> None:
        if self.embed_dim % self.num_heads or self.embed_dim % 4:
            raise ValueError(f"embed_dim {self.embed_dim} must be divisible by num_heads {self.num_heads} and 4")
        if self.mel_bins % self.patch_size:
            raise ValueError(f"mel_bins {self.mel_bins} must be a multiple of patch_size {self.patch_size}")

    @property
    def freq_patches(self) -> int:
        """Frequency patches per time step (8 for 128 mel bins)."""
        return self.mel_bins // self.patch_size

    @classmethod
    def base(cls, finetuned: bool = False) -> EATConfig:
        """EAT-base (88M): 768-d, 12 blocks, 12 heads."""
        return cls(num_classes=527 if finetuned else 0)

    @classmethod
    def large(cls, finetuned: bool = False) -> EATConfig:
        """EAT-large (309M): 1024-d, 24 blocks, 16 heads."""
        return cls(embed_dim=1024, depth=24, num_heads=16, num_classes=527 if finetuned else 0)

    @classmethod
    def from_hf_config(cls, cfg: dict[str, Any]) -> EATConfig:
        """Build from an official ``config.json`` (``EATConfig`` of the HF remote code)."""
        unsupported = {
            "layer_norm_first": (False, cfg.get("layer_norm_first", False)),
            "in_chans": (1, cfg.get("in_chans", 1)),
            "fixed_positions": (True, cfg.get("fixed_positions", True)),
            "norm_affine": (True, cfg.get("norm_affine", True)),
            "stride": (cfg.get("patch_size", 16), cfg.get("stride", cfg.get("patch_size", 16))),
        }
        for key, (want, got) in unsupported.items():
            if want != got:
                raise ValueError(f"EAT config.json: {key}={got!r} is not supported (expected {want!r})")
        finetuned = cfg.get("model_variant", "pretrain") == "finetune"
        return cls(
            embed_dim=int(cfg.get("embed_dim", 768)),
            depth=int(cfg.get("depth", 12)),
            num_heads=int(cfg.get("num_heads", 12)),
            mlp_ratio=float(cfg.get("mlp_ratio", 4.0)),
            patch_size=int(cfg.get("patch_size", 16)),
            mel_bins=int(cfg.get("mel_bins", 128)),
            max_time_patches=int(cfg.get("max_length", 768)),
            qkv_bias=bool(cfg.get("qkv_bias", True)),
            norm_eps=float(cfg.get("norm_eps", 1e-6)),
            num_classes=int(cfg.get("num_classes", 527)) if finetuned else 0,
        )

    def to_hf_config(self) -> dict[str, Any]:
        """The official ``config.json`` fields for this architecture."""
        return {
            "model_type": "eat",
            "embed_dim": self.embed_dim,
            "depth": self.depth,
            "num_heads": self.num_heads,
            "mlp_ratio": self.mlp_ratio,
            "patch_size": self.patch_size,
            "stride": self.patch_size,
            "in_chans": 1,
            "mel_bins": self.mel_bins,
            "max_length": self.max_time_patches,
            "qkv_bias": self.qkv_bias,
            "norm_eps": self.norm_eps,
            "layer_norm_first": False,
            "fixed_positions": True,
            "norm_affine": True,
            "num_classes": self.num_classes or 527,
            "model_variant": "finetune" if self.num_classes else "pretrain",
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EATConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def sincos_table_2d(embed_dim: int, time_patches: int, freq_patches: int) -> torch.Tensor:
    """Fixed positional table ``(1, time_patches * freq_patches, D)``, token order time-major.

    For token ``k`` (``t = k // F``, ``f = k % F``) and ``q = D / 4``, ``w_i = 10000 ** (-i / q)``:
    channels ``[0, q)`` = sin(f w), ``[q, 2q)`` = cos(f w), ``[2q, 3q)`` = sin(t w), ``[3q, 4q)`` = cos(t w).
    Evaluated in numpy float32, as the released tables were.
    """
    quarter = embed_dim // 4
    omega = np.arange(quarter, dtype=np.float32) / np.float32(quarter)
    omega = (1.0 / np.float32(10000) ** omega).astype(np.float32)
    t_idx, f_idx = np.meshgrid(
        np.arange(time_patches, dtype=np.float32), np.arange(freq_patches, dtype=np.float32), indexing="ij"
    )
    parts = []
    for index in (f_idx.reshape(-1), t_idx.reshape(-1)):
        angle = np.outer(index, omega).astype(np.float32)
        parts += [np.sin(angle), np.cos(angle)]
    return torch.from_numpy(np.concatenate(parts, axis=1).astype(np.float32))[None]


class SelfAttention(nn.Module):
    """Multi-head self-attention with a fused ``qkv`` projection (rows: q, k, v; heads contiguous)."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class FeedForward(nn.Module):
    """``fc1`` -> exact GELU -> ``fc2``."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class PostNormBlock(nn.Module):
    """Transformer block with LayerNorm *after* each residual sum (EAT's ``layer_norm_first=False``)."""

    def __init__(self, cfg: EATConfig) -> None:
        super().__init__()
        d = cfg.embed_dim
        self.attn = SelfAttention(d, cfg.num_heads, cfg.qkv_bias)
        self.post_attn_norm = nn.LayerNorm(d, eps=cfg.norm_eps)
        self.mlp = FeedForward(d, int(d * cfg.mlp_ratio))
        self.post_mlp_norm = nn.LayerNorm(d, eps=cfg.norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.post_attn_norm(x + self.attn(x))
        return self.post_mlp_norm(x + self.mlp(x))


class EATEncoder(nn.Module):
    """Normalised fbank ``(batch, frames, mel_bins)`` -> tokens ``(batch, 1 + time_patches * 8, D)``.

    ``frames`` must be a multiple of ``patch_size`` (the caller pads); token 0 is CLS, then time-major
    patches. ``num_blocks`` stops early (output of that block); ``None`` runs all blocks.
    """

    def __init__(self, cfg: EATConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d, p = cfg.embed_dim, cfg.patch_size
        self.patch_embed = nn.Conv2d(1, d, kernel_size=p, stride=p)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.register_buffer("pos_table", torch.empty(1, cfg.max_time_patches * cfg.freq_patches, d))
        self.input_norm = nn.LayerNorm(d, eps=cfg.norm_eps)
        self.blocks = nn.ModuleList(PostNormBlock(cfg) for _ in range(cfg.depth))
        if cfg.num_classes:
            self.head_norm = nn.LayerNorm(d, eps=cfg.head_norm_eps)
            self.head = nn.Linear(d, cfg.num_classes)
        if not self.pos_table.is_meta:
            self.reset_parameters()

    def reset_parameters(self, seed: int | None = None) -> None:
        """Random init (truncated normal 0.02 for linear layers and CLS) and the fixed positional table."""
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        with torch.no_grad():
            self.pos_table.copy_(sincos_table_2d(self.cfg.embed_dim, self.cfg.max_time_patches, self.cfg.freq_patches))
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    nn.init.trunc_normal_(module.weight, std=0.02, a=-0.04, b=0.04, generator=gen)
                    nn.init.zeros_(module.bias)
                elif isinstance(module, nn.LayerNorm):
                    nn.init.ones_(module.weight)
                    nn.init.zeros_(module.bias)
            nn.init.trunc_normal_(self.cls_token, std=0.02, a=-0.04, b=0.04, generator=gen)

    def embed(self, fbank: torch.Tensor) -> torch.Tensor:
        """Patch tokens + positions, CLS prepended, input LayerNorm: ``(batch, 1 + N, D)``."""
        frames, mel = fbank.shape[1:]
        p = self.cfg.patch_size
        if mel != self.cfg.mel_bins or frames % p:
            raise ValueError(f"fbank must be (batch, k * {p}, {self.cfg.mel_bins}), got {tuple(fbank.shape)}")
        if frames // p > self.cfg.max_time_patches:
            raise ValueError(f"{frames} frames exceed the positional table ({self.cfg.max_time_patches * p} frames)")
        x = self.patch_embed(fbank[:, None].to(self.patch_embed.weight.dtype)).flatten(2).transpose(1, 2)
        x = x + self.pos_table[:, : x.shape[1]].to(x.dtype)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1).to(x.dtype), x], dim=1)
        return self.input_norm(x)

    def forward(self, fbank: torch.Tensor, num_blocks: int | None = None) -> torch.Tensor:
        x = self.embed(fbank)
        for block in self.blocks[:num_blocks]:
            x = block(x)
        return x

    def classify(self, tokens: torch.Tensor) -> torch.Tensor:
        """AudioSet logits from the CLS token (fine-tuned release only)."""
        if not self.cfg.num_classes:
            raise ValueError("this EAT encoder has no classifier head (pre-trained release)")
        return self.head(self.head_norm(tokens[:, 0]))
