"""Front-end interface: waveform batch -> feature sequence at a stated, honest time resolution."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import torch
from torch import nn

F = TypeVar("F", bound=Callable[..., torch.Tensor])
#: with an ``envelope_norm``, the power floor sits this far below the clip's mean bin power (:func:`power_floor`)
RELATIVE_FLOOR_DB = 80.0


def power_floor(power: torch.Tensor, envelope_norm: str, eps: float) -> torch.Tensor:
    """The floor under every log and ratio of ``power`` ``(batch, frames, bins)``, as ``(batch, 1, 1)``: ``eps``
    without ``envelope_norm``; with it :data:`RELATIVE_FLOOR_DB` below each clip's mean bin power, so empty bands
    (above a codec's cut-off, between events) read the same at any playback level: the features are scale-free."""
    if envelope_norm == "none":
        return torch.full((power.shape[0], 1, 1), eps, dtype=power.dtype, device=power.device)
    mean = power.flatten(1).mean(dim=1).clamp_min(1e-30)
    return (mean * 10 ** (-RELATIVE_FLOOR_DB / 10))[:, None, None]


def normalise_envelope(log_power: torch.Tensor, envelope_norm: str) -> torch.Tensor:
    """Log band powers ``(batch, frames, bands)`` less each clip's median ("level": over bands and frames; "band":
    per band over frames, as cepstral mean normalisation): what a recording chain adds to every frame alike goes,
    what changes inside the clip stays."""
    if envelope_norm == "band":
        return log_power - log_power.median(dim=1, keepdim=True).values
    if envelope_norm == "level":
        return log_power - log_power.flatten(1).median(dim=1).values[:, None, None]
    return log_power


def float32_features(fn: F) -> F:
    """Run a feature computation ``fn(..., wave, ...)`` in float32 with autocast off.

    Training under fp16 autocast would otherwise run the filterbank matmuls in half precision: a
    full-scale tone's power overflows (inf) and the ``+ 1e-8`` log floor underflows to 0 (``log(0) = -inf``),
    so BatchNorm statistics turn NaN and GradScaler silently skips every step. The first tensor argument
    is the waveform; it is cast to float32 (kept float64 if it is).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        index = next((i for i, a in enumerate(args) if isinstance(a, torch.Tensor)), None)
        if index is None:
            raise TypeError(f"{fn.__qualname__}: pass the waveform tensor positionally")
        wave = args[index]
        if wave.dtype != torch.float64:
            wave = wave.float()
        with torch.autocast(device_type=wave.device.type, enabled=False):
            return fn(*args[:index], wave, *args[index + 1 :], **kwargs)

    return wrapper  # type: ignore[return-value]


def trainables_to_float32(module: nn.Module) -> nn.Module:
    """Cast every parameter that requires grad to float32 (frozen ones keep their dtype).

    A backbone loaded with ``dtype="auto"`` (float16 on CUDA) and then fine-tuned would otherwise hand
    GradScaler float16 gradients ("Attempting to unscale FP16 gradients"); mixed precision comes from
    autocast, never from half-precision master weights.
    """
    for param in module.parameters():
        if param.requires_grad and param.dtype != torch.float32:
            param.data = param.data.float()
    return module


class Frontend(nn.Module):
    """Maps ``wave`` ``(batch, samples)`` at ``sample_rate`` to ``(batch, frames, dim)``.

    ``frame_s`` is the true duration of one output frame (EAT: 0.16 s, log-mel: 0.02 s);
    labels are built at this resolution and mapped to 20 ms only for scoring.
    """

    sample_rate: int
    frame_s: float
    dim: int

    def forward(self, wave: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def num_frames(self, num_samples: int) -> int:
        """Frames produced for ``num_samples`` input samples."""
        raise NotImplementedError


class CachableFrontend(Frontend):
    """A front-end whose only trainable part is a final normalisation: ``forward = normalise(features(wave))``.

    Training may then compute ``features`` once per clip and train on cached features; a gain change of
    the waveform is applied exactly in feature space by :meth:`apply_gain`.
    """

    def features(self, wave: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Fixed (parameter-free) features ``(batch, frames, dim)``."""
        raise NotImplementedError

    def normalise(self, feats: torch.Tensor) -> torch.Tensor:
        """The trainable input BatchNorm over feature dimensions."""
        return self.norm(feats.transpose(1, 2)).transpose(1, 2)

    def apply_gain(self, feats: torch.Tensor, gain_db: float) -> torch.Tensor:  # pragma: no cover - abstract
        """``features(wave * 10 ** (gain_db / 20))`` computed from ``features(wave)``."""
        raise NotImplementedError

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.normalise(self.features(wave))


class PretrainedFrontend(Frontend):
    """A front-end around a pretrained backbone that can be frozen (no gradients, eval mode) or fine-tuned."""

    frozen: bool = False

    @property
    def backbone(self) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def freeze(self) -> None:
        """Stop gradients into the backbone and keep it in eval mode (dropout off)."""
        self.frozen = True
        self.backbone.requires_grad_(False)
        self.backbone.eval()
        trainables_to_float32(self)  # e.g. learned layer weights beside a half-precision backbone

    def unfreeze(self) -> None:
        """Make the backbone trainable (fine-tuning)."""
        self.frozen = False
        self.backbone.requires_grad_(True)
        self.backbone.train(self.training)
        trainables_to_float32(self)

    def train(self, mode: bool = True) -> PretrainedFrontend:
        super().train(mode)
        if self.frozen:
            self.backbone.eval()
        return self
