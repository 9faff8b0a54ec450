"""The sampling loop: DDIM over the UNet with the low-pass latent concatenated and classifier-free guidance."""

from __future__ import annotations

import torch
from diffusers import DDIMScheduler

from regenerate.audiosr.model import UNCONDITIONAL_LATENT_VALUE
from regenerate.audiosr.unet import AudioSRUNet
from regenerate.ddim import DDIMSchedule, FixedNoise, RowNoise

#: DDIM ``eta`` upstream's ``generate_batch`` uses by default (fully stochastic DDIM steps).
DEFAULT_ETA = 1.0
MAX_STEPS = 500  # "leading" spacing + 1 must stay inside the 1000 training steps


def guided_velocity(
    unet: AudioSRUNet,
    latents: torch.Tensor,
    timestep: torch.Tensor,
    cond: torch.Tensor,
    uncond: torch.Tensor,
    guidance: float,
) -> torch.Tensor:
    """v-prediction with classifier-free guidance, v_u + g (v_c - v_u), in one batched UNet call.

    ``cond`` / ``uncond`` are the (already latent-scaled) conditioning channels concatenated to ``latents``.
    """
    dtype = next(unet.parameters()).dtype
    if guidance == 1.0:
        return unet(torch.cat([latents, cond], dim=1).to(dtype), timestep).float()
    x = torch.cat([torch.cat([latents, cond], dim=1), torch.cat([latents, uncond], dim=1)]).to(dtype)
    v_cond, v_uncond = unet(x, timestep).float().chunk(2)
    return v_uncond + guidance * (v_cond - v_uncond)


def unconditional_like(cond: torch.Tensor, scale_factor: float) -> torch.Tensor:
    """Upstream's unconditional condition: the constant -11.4981 latent, scaled like the real one."""
    return torch.full_like(cond, UNCONDITIONAL_LATENT_VALUE * scale_factor)


def sample_latents(
    unet: AudioSRUNet,
    scheduler: DDIMScheduler,
    cond: torch.Tensor,
    uncond: torch.Tensor,
    *,
    steps: int,
    guidance: float,
    noise: RowNoise | FixedNoise,
    eta: float = DEFAULT_ETA,
) -> torch.Tensor:
    """Denoise from Gaussian noise shaped like ``cond`` (``[B, C, T, F]``, float32); returns the final latent.

    ``noise`` (one row per batch row) gives the initial noise and every DDIM step's noise, in that order; the step
    coefficients are host floats, so no step waits for the device.
    """
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be in 1..{MAX_STEPS}, got {steps}")
    schedule = DDIMSchedule.make(scheduler.alphas_cumprod, steps, eta)
    shape = tuple(cond.shape[1:])
    latents = noise.draw(shape)
    for index, t in enumerate(schedule.timesteps):
        timestep = torch.full((), t, dtype=torch.long, device=cond.device)
        velocity = guided_velocity(unet, latents, timestep, cond, uncond, guidance)
        step_noise = None
        if schedule.sigmas[index] > 0:
            step_noise = noise.draw(shape)
        latents = schedule.step(latents, velocity, index, step_noise, v_prediction=True)
    return latents
