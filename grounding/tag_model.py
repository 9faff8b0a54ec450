"""Text-to-audio grounding (TAG) network: where in a clip a phrase sounds, every 40 ms.

Our implementation of the bi-encoder of Xu et al. (github wsntxxn/TextToAudioGrounding, MIT; the
Hugging Face model ``wsntxxn/cnn8rnn-laionclap-audiocapsv2-grounding``):

* audio (:class:`Cnn8RnnEncoder`): log-mel (:mod:`grounding.logmel`), batch norm over mel bins, four
  PANNs-style blocks (two 3x3 conv + BN + ReLU, then avg + max pooling 2x2, 2x2, 1x2, 1x2), mean over
  frequency, a linear layer with ReLU and a bidirectional GRU: one embedding per 4 mel frames (40 ms);
* text: transformers' CLAP text tower (``ClapTextModelWithProjection``), the projected pooled output,
  L2-normalised: one embedding per phrase;
* match (:class:`FrameTextMatcher`): both projected linearly into a shared space; a frame's probability
  is ``sigmoid(<audio, text> / sqrt(dim))``, clamped to ``[1e-7, 1]``.

One clip is encoded once and matched against all of its phrases (the published wrapper pairs one
waveform with one phrase; in eval mode the result is the same).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from grounding.logmel import LogMel, LogMelConfig

#: Seconds per output frame: 10 ms hop x 4 (time is pooled twice by 2).
TAG_FRAME_S = 0.04
_TIME_POOLING = 4
_POOLS = ((2, 2), (2, 2), (1, 2), (1, 2))
_PROB_FLOOR = 1e-7


@dataclass(frozen=True)
class TagModelConfig:
    """Shapes of the TAG network; the defaults are the published LAION-CLAP model's.

    ``text`` holds ``transformers.ClapTextConfig`` arguments; empty means ClapTextConfig's defaults,
    which are the text tower of ``laion/clap-htsat-fused`` (RoBERTa-base, 512-d projection).
    """

    sample_rate: int = 32000
    channels: tuple[int, int, int, int] = (64, 128, 256, 512)
    embed_dim: int = 512
    shared_dim: int = 512
    f_min: float = 50.0
    f_max: float = 14000.0
    n_mels: int = 64
    text: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.channels) != 4:
            raise ValueError(f"channels must list the 4 conv blocks' widths, got {self.channels!r}")
        if self.embed_dim % 2:
            raise ValueError(f"embed_dim must be even (bidirectional GRU halves), got {self.embed_dim}")
        if self.n_mels % 16:
            raise ValueError(f"n_mels must be a multiple of 16 (frequency pooled 16x), got {self.n_mels}")

    @property
    def logmel(self) -> LogMelConfig:
        """32 ms window and 10 ms hop at the model's rate, as the published encoder derives them."""
        return LogMelConfig(
            sample_rate=self.sample_rate,
            n_fft=int(0.032 * self.sample_rate),
            hop_length=int(0.010 * self.sample_rate),
            f_min=self.f_min,
            f_max=self.f_max,
            n_mels=self.n_mels,
        )

    def clap_text_config(self):
        from transformers import ClapTextConfig

        return ClapTextConfig(**self.text)


class ConvBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and ReLU, then average + max pooling."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, pool: tuple[int, int]) -> torch.Tensor:
        x = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.avg_pool2d(x, pool) + F.max_pool2d(x, pool)


class Cnn8RnnEncoder(nn.Module):
    """``(batch, samples)`` -> ``(batch, frames, embed_dim)`` frame embeddings every 40 ms."""

    def __init__(self, config: TagModelConfig) -> None:
        super().__init__()
        self.log_mel = LogMel(config.logmel)
        self.hop_length = config.logmel.hop_length
        self.bn0 = nn.BatchNorm2d(config.n_mels)
        widths = (1, *config.channels)
        for i in range(4):
            self.add_module(f"conv_block{i + 1}", ConvBlock(widths[i], widths[i + 1]))
        self.fc1 = nn.Linear(config.channels[-1], config.embed_dim)
        self.rnn = nn.GRU(config.embed_dim, config.embed_dim // 2, bidirectional=True, batch_first=True)

    def valid_frames(self, num_samples: int) -> int:
        """Output frames that the clip's own samples produce (the rest of a batch is padding)."""
        return (num_samples // self.hop_length + 1) // _TIME_POOLING

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        x = self.bn0(self.log_mel(waveform).unsqueeze(-1)).squeeze(-1)  # (batch, mel, time), BN over mel bins
        x = x.transpose(1, 2).unsqueeze(1)  # (batch, 1, time, mel)
        for i, pool in enumerate(_POOLS):
            x = getattr(self, f"conv_block{i + 1}")(x, pool)
            x = F.dropout(x, p=0.2, training=self.training)
        x = x.mean(dim=3).transpose(1, 2)  # (batch, time / 4, channels)
        x = F.dropout(x, p=0.5, training=self.training)
        x = F.relu(self.fc1(x))
        return self.rnn(x)[0]


class FrameTextMatcher(nn.Module):
    """Projects audio frames and phrase embeddings to a shared space; scaled dot product -> probability."""

    def __init__(self, audio_dim: int, text_dim: int, shared_dim: int) -> None:
        super().__init__()
        self.audio_proj = nn.Linear(audio_dim, shared_dim)
        self.text_proj = nn.Linear(text_dim, shared_dim)

    def forward(self, frames: torch.Tensor, phrases: torch.Tensor) -> torch.Tensor:
        """``frames`` (frames, audio_dim), ``phrases`` (n, text_dim) -> probabilities (n, frames)."""
        audio, text = self.audio_proj(frames), self.text_proj(phrases)
        logits = text @ audio.T / math.sqrt(audio.shape[-1])
        return torch.sigmoid(logits).clamp(_PROB_FLOOR, 1.0)


class TagGroundingModel(nn.Module):
    """Audio encoder, CLAP text tower and matcher; :meth:`ground` gives per-frame probabilities per phrase."""

    def __init__(self, config: TagModelConfig) -> None:
        super().__init__()
        from transformers import ClapTextModelWithProjection

        self.config = config
        self.audio_encoder = Cnn8RnnEncoder(config)
        self.text_encoder = ClapTextModelWithProjection(config.clap_text_config())
        projection_dim = self.text_encoder.config.projection_dim
        self.matcher = FrameTextMatcher(config.embed_dim, projection_dim, config.shared_dim)

    def embed_phrases(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Unit-length phrase embeddings (n, projection_dim)."""
        out = self.text_encoder(input_ids=input_ids, attention_mask=attention_mask)
        return F.normalize(out.text_embeds, dim=-1)

    def ground(self, waveform: torch.Tensor, phrase_embeddings: torch.Tensor) -> torch.Tensor:
        """One clip ``(samples,)`` against ``(n, dim)`` phrase embeddings -> ``(n, valid frames)`` probabilities."""
        frames = self.audio_encoder(waveform[None])[0]
        frames = frames[: self.audio_encoder.valid_frames(waveform.shape[-1])]
        return self.matcher(frames, phrase_embeddings)
