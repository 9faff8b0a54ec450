"""Front-end interface: waveform batch -> feature sequence at a stated, honest time resolution."""

from __future__ import annotations

import torch
from torch import nn


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
