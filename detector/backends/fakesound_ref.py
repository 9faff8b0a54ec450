"""The FakeSound/DKU detection back-end, rebuilt from the paper's code as the baseline.

MelResNet (a 5-tap input conv, 12 residual blocks of two 1x1 convs with BatchNorm, a 1x1 output
conv) -> Linear -> BatchNorm -> 2-layer Transformer encoder (d=128, 4 heads, FFN 1024, dropout 0.5)
-> BiLSTM -> ReLU -> per-frame Linear. The clip head is FakeSound's multi-task head: a Linear on the
time-averaged BiLSTM output.
"""

from __future__ import annotations

import torch
from torch import nn


class ResBlock1x1(nn.Module):
    """conv1x1 -> BN -> ReLU -> conv1x1 -> BN, plus the input (no activation after the sum)."""

    def __init__(self, planes: int):
        super().__init__()
        self.conv1 = nn.Conv1d(planes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm1d(planes)
        self.conv2 = nn.Conv1d(planes, planes, kernel_size=1, bias=False)
        self.bn2 = nn.BatchNorm1d(planes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))


class MelResNet(nn.Module):
    """``(batch, frames, in_dim)`` -> ``(batch, frames, embed_dim)``."""

    def __init__(self, in_dim: int, planes: int = 512, embed_dim: int = 128, res_blocks: int = 12):
        super().__init__()
        self.conv_in = nn.Conv1d(in_dim, planes, kernel_size=5, padding=2, bias=False)
        self.bn = nn.BatchNorm1d(planes)
        self.blocks = nn.Sequential(*(ResBlock1x1(planes) for _ in range(res_blocks)))
        self.conv_out = nn.Conv1d(planes, embed_dim, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.conv_in(x.transpose(1, 2))))
        return self.conv_out(self.blocks(x)).transpose(1, 2)


class FakeSoundRefBackend(nn.Module):
    """Features ``(batch, frames, in_dim)`` -> (frame logits ``(batch, frames)``, clip logits ``(batch,)``)."""

    def __init__(
        self,
        in_dim: int,
        planes: int = 512,
        embed_dim: int = 128,
        res_blocks: int = 12,
        num_layers: int = 2,
        nhead: int = 4,
        dim_feedforward: int = 1024,
        dropout: float = 0.5,
    ):
        super().__init__()
        self.resnet = MelResNet(in_dim, planes, embed_dim, res_blocks)
        self.proj = nn.Linear(embed_dim, embed_dim)
        self.proj_norm = nn.BatchNorm1d(embed_dim)
        layer = nn.TransformerEncoderLayer(
            d_model=embed_dim, nhead=nhead, dim_feedforward=dim_feedforward, dropout=dropout, batch_first=True
        )
        self.transformer = nn.TransformerEncoder(layer, num_layers=num_layers, enable_nested_tensor=False)
        self.lstm = nn.LSTM(embed_dim, embed_dim, num_layers=1, batch_first=True, bidirectional=True)
        self.frame_head = nn.Linear(2 * embed_dim, 1)
        self.clip_head = nn.Linear(2 * embed_dim, 1)

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.proj(self.resnet(feats))
        x = self.proj_norm(x.transpose(1, 2)).transpose(1, 2)
        x, _ = self.lstm(self.transformer(x))
        frame_logits = self.frame_head(torch.relu(x)).squeeze(-1)
        clip_logits = self.clip_head(x.mean(dim=1)).squeeze(-1)
        return frame_logits, clip_logits
