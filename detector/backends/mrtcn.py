"""Our back-end: a spectral 2-D stem, a multi-resolution dilated TCN and a clip-contrast layer.

* The stem reads the feature map as an image (time x bands) so narrow-band artefacts (missing
  highs, vocoder smearing) are seen before bands are mixed; for non-spectral features
  (``spectral_stem=False``) it is a plain 1-D conv.
* Residual depthwise-separable blocks with dilations 1, 2, 4, ... give each frame context at several
  time scales (receptive field about +-1.2 s with the defaults) at a few MFLOPs per second of audio.
* Every frame is compared with the clip's average (``h`` and ``h - mean(h)``): a splice is a region
  that does not match the rest of its clip.
* The clip head attention-pools the frames and also sees the largest frame logit.
"""

from __future__ import annotations

import torch
from torch import nn


class SpectralStem(nn.Module):
    """``(batch, frames, bands)`` -> ``(batch, channels, frames)``: two strided 2-D convs (bands / 4), then a 1x1."""

    def __init__(self, bands: int, channels: int, stem_channels: int = 8):
        super().__init__()
        c = stem_channels
        self.convs = nn.Sequential(
            nn.Conv2d(1, c, 3, stride=(2, 1), padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, c, 3, stride=(2, 1), padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
        )
        reduced = (((bands + 1) // 2) + 1) // 2
        self.proj = nn.Conv1d(c * reduced, channels, 1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        x = self.convs(feats.transpose(1, 2).unsqueeze(1))  # (batch, c, bands', frames)
        return self.proj(x.flatten(1, 2))


class DilatedBlock(nn.Module):
    """Depthwise dilated conv -> BN -> GELU -> pointwise conv, with a residual connection."""

    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.depthwise = nn.Conv1d(
            channels, channels, kernel_size, padding=dilation * (kernel_size // 2), dilation=dilation,
            groups=channels, bias=False,
        )
        self.norm = nn.BatchNorm1d(channels)
        self.pointwise = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.dropout(self.pointwise(nn.functional.gelu(self.norm(self.depthwise(x)))))


class MRTCNBackend(nn.Module):
    """Features ``(batch, frames, in_dim)`` -> (frame logits ``(batch, frames)``, clip logits ``(batch,)``)."""

    def __init__(
        self,
        in_dim: int,
        channels: int = 96,
        kernel_size: int = 5,
        dilations: tuple[int, ...] | list[int] = (1, 2, 4, 8, 16),
        spectral_stem: bool = True,
        stem_channels: int = 8,
        dropout: float = 0.1,
    ):
        super().__init__()
        if spectral_stem:
            self.stem: nn.Module = SpectralStem(in_dim, channels, stem_channels)
        else:
            self.stem = nn.Sequential(nn.Conv1d(in_dim, channels, 3, padding=1), nn.GELU())
        self.spectral_stem = spectral_stem
        self.blocks = nn.Sequential(*(DilatedBlock(channels, kernel_size, d, dropout) for d in dilations))
        self.contrast = nn.Conv1d(2 * channels, channels, 1)
        self.frame_head = nn.Conv1d(channels, 1, 1)
        self.attention = nn.Conv1d(channels, 1, 1)
        self.clip_head = nn.Linear(channels + 1, 1)

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.stem(feats) if self.spectral_stem else self.stem(feats.transpose(1, 2))
        h = self.blocks(x)  # (batch, channels, frames)
        h = nn.functional.gelu(self.contrast(torch.cat([h, h - h.mean(dim=2, keepdim=True)], dim=1)))
        frame_logits = self.frame_head(h).squeeze(1)
        weights = torch.softmax(self.attention(h), dim=2)
        pooled = (h * weights).sum(dim=2)
        peak = frame_logits.max(dim=1, keepdim=True).values
        clip_logits = self.clip_head(torch.cat([pooled, peak], dim=1)).squeeze(-1)
        return frame_logits, clip_logits
