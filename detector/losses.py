"""Training loss: masked frame BCE (optionally heavier near region boundaries) plus clip BCE."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def boundary_weights(labels: torch.Tensor, width: int) -> torch.Tensor:
    """1 for frames within ``width`` frames of a label change, else 0; ``labels`` ``(B, frames)``."""
    change = torch.zeros_like(labels)
    change[:, 1:] = (labels[:, 1:] != labels[:, :-1]).float()
    if width <= 0:
        return change
    kernel = torch.ones(1, 1, 2 * width + 1, device=labels.device, dtype=labels.dtype)
    return (F.conv1d(change.unsqueeze(1), kernel, padding=width).squeeze(1) > 0).float()


def detection_loss(
    frame_logits: torch.Tensor,
    clip_logits: torch.Tensor,
    frame_labels: torch.Tensor,
    frame_mask: torch.Tensor,
    clip_labels: torch.Tensor,
    clip_weight: float = 0.5,
    boundary_weight: float = 0.0,
    boundary_frames: int = 2,
) -> tuple[torch.Tensor, dict[str, float]]:
    """``frame BCE + clip_weight * clip BCE``; frames near boundaries weigh ``1 + boundary_weight``."""
    weights = frame_mask.clone()
    if boundary_weight > 0:
        weights = weights * (1 + boundary_weight * boundary_weights(frame_labels, boundary_frames))
    frame_bce = F.binary_cross_entropy_with_logits(frame_logits.float(), frame_labels, reduction="none")
    frame_loss = (frame_bce * weights).sum() / weights.sum().clamp_min(1.0)
    clip_loss = F.binary_cross_entropy_with_logits(clip_logits.float(), clip_labels)
    total = frame_loss + clip_weight * clip_loss
    return total, {"frame_loss": float(frame_loss.detach()), "clip_loss": float(clip_loss.detach())}
