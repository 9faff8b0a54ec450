"""The DDIM sampler of AudioLDM / AudioLDM 2 / AudioSR (``DDIMSampler`` of the original code), written out so that it
runs without a host sync per step, and the per-row noise source that keeps every clip's randomness its own.

Schedule (upstream ``make_ddim_timesteps("uniform")`` and ``make_ddim_sampling_parameters``): timesteps
``range(0, T, T // steps) + 1``; ``a_prev`` of the first (smallest) timestep is ``alphas_cumprod[0]``;
``sigma = eta * sqrt((1 - a_prev) / (1 - a) * (1 - a / a_prev))``. The per-step coefficients are Python floats
(computed in float64 from the model's ``alphas_cumprod``), so a step on CUDA never reads a tensor back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


def ddim_timesteps(steps: int, train_steps: int) -> np.ndarray:
    """Ascending DDIM timesteps ``k * c + 1`` for ``k < steps``, ``c = train_steps // steps``: upstream's
    ``range(0, T, c) + 1`` whenever ``steps`` divides ``T`` (50, 100, 200, ...); otherwise upstream makes more than
    ``steps`` timesteps (and can index past the schedule), this makes exactly ``steps`` (diffusers' "leading")."""
    if not 1 <= steps <= train_steps:
        raise ValueError(f"DDIM steps must be in 1..{train_steps}, got {steps}")
    return np.arange(steps) * (train_steps // steps) + 1


@dataclass(frozen=True)
class DDIMSchedule:
    """Per-step coefficients, in sampling order (largest timestep first)."""

    timesteps: tuple[int, ...]
    alphas: tuple[float, ...]
    alphas_prev: tuple[float, ...]
    sigmas: tuple[float, ...]
    alphas_cumprod: torch.Tensor  # the training schedule (float32, as the model holds it), for q_sample

    @classmethod
    def make(cls, alphas_cumprod: torch.Tensor, steps: int, eta: float) -> DDIMSchedule:
        cumprod = alphas_cumprod.detach().double().cpu().numpy()
        ascending = ddim_timesteps(steps, len(cumprod))
        alphas = cumprod[ascending]
        alphas_prev = np.concatenate([[cumprod[0]], cumprod[ascending[:-1]]])
        sigmas = eta * np.sqrt((1 - alphas_prev) / (1 - alphas) * (1 - alphas / alphas_prev))
        order = slice(None, None, -1)
        return cls(
            timesteps=tuple(int(t) for t in ascending[order]),
            alphas=tuple(float(a) for a in alphas[order]),
            alphas_prev=tuple(float(a) for a in alphas_prev[order]),
            sigmas=tuple(float(s) for s in sigmas[order]),
            alphas_cumprod=alphas_cumprod.detach().float().cpu(),
        )

    def __len__(self) -> int:
        return len(self.timesteps)

    def q_sample(self, x0: torch.Tensor, index: int, noise: torch.Tensor) -> torch.Tensor:
        """``x0`` noised to step ``index``'s timestep (the training forward process, upstream ``q_sample``)."""
        a = float(self.alphas_cumprod[self.timesteps[index]])
        return a**0.5 * x0 + (1 - a) ** 0.5 * noise

    def step(
        self, x: torch.Tensor, output: torch.Tensor, index: int, noise: torch.Tensor | None, v_prediction: bool = False
    ) -> torch.Tensor:
        """One DDIM update (upstream ``p_sample_ddim``, no clipping, temperature 1); ``output`` is the predicted
        noise, or the velocity when ``v_prediction`` (AudioSR)."""
        a, a_prev, sigma = self.alphas[index], self.alphas_prev[index], self.sigmas[index]
        if v_prediction:
            pred_x0 = a**0.5 * x - (1 - a) ** 0.5 * output
            eps = a**0.5 * output + (1 - a) ** 0.5 * x
        else:
            eps = output
            pred_x0 = (x - (1 - a) ** 0.5 * eps) / a**0.5
        out = a_prev**0.5 * pred_x0 + (1 - a_prev - sigma**2) ** 0.5 * eps
        if sigma > 0:
            if noise is None:
                raise ValueError("a stochastic DDIM step (eta > 0) needs noise")
            out = out + sigma * noise
        return out


class RowNoise:
    """Gaussian noise for a batch, each row from its own seeded CPU generator (so a row's noise does not depend on
    the other rows), drawn into pinned memory and copied to the device without blocking the host."""

    def __init__(self, generators: Sequence[torch.Generator], device: torch.device):
        self.generators = list(generators)
        self.device = torch.device(device)
        self._pin = self.device.type == "cuda" and torch.cuda.is_available()

    def __len__(self) -> int:
        return len(self.generators)

    def draw(self, shape: Sequence[int], rows: Sequence[int] | None = None) -> torch.Tensor:
        """``[len(rows), *shape]`` float32 noise on the device (``rows``: which generators, default all)."""
        rows = range(len(self.generators)) if rows is None else rows
        out = torch.empty((len(rows), *shape), dtype=torch.float32, pin_memory=self._pin)
        for slot, row in enumerate(rows):
            torch.randn(tuple(shape), generator=self.generators[row], out=out[slot])
        return out.to(self.device, non_blocking=self._pin)


class FixedNoise:
    """Pre-drawn noise handed out in call order (posterior sample, initial latents, then per step the re-noising
    and the DDIM step noise), for parity tests against upstream runs that recorded theirs."""

    def __init__(self, tensors: Sequence[torch.Tensor]):
        self.tensors = list(tensors)
        self._next = 0

    def draw(self, shape: Sequence[int], rows: Sequence[int] | None = None) -> torch.Tensor:
        if self._next >= len(self.tensors):
            raise IndexError(f"only {len(self.tensors)} noise tensors were recorded")
        tensor = self.tensors[self._next]
        self._next += 1
        if tuple(tensor.shape[1:]) != tuple(shape) or (rows is not None and len(rows) != tensor.shape[0]):
            raise ValueError(f"recorded noise {tuple(tensor.shape)} does not fit a draw of {len(rows or [])} x {shape}")
        return tensor.float()
