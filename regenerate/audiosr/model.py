"""The AudioSR components (UNet, VAE, low-pass condition encoder, vocoder, scheduler) and their container."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from diffusers import AutoencoderKL, DDIMScheduler
from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution, Encoder
from torch import nn
from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

from regenerate.audiosr.unet import AudioSRUNet

#: Upstream's unconditional (classifier-free guidance) condition: this constant in place of the low-pass latent.
UNCONDITIONAL_LATENT_VALUE = -11.4981


def _vae_kwargs(vae: dict[str, Any]) -> dict[str, Any]:
    levels = len(vae["block_out_channels"])
    return {
        **vae,
        "down_block_types": ["DownEncoderBlock2D"] * levels,
        "up_block_types": ["UpDecoderBlock2D"] * levels,
    }


class LowpassConditionEncoder(nn.Module):
    """Encoder half of the second (conditioning) VAE: low-pass log-mel -> Gaussian latent posterior."""

    def __init__(self, vae: dict[str, Any]):
        super().__init__()
        kwargs = _vae_kwargs(vae)
        self.encoder = Encoder(
            in_channels=kwargs["in_channels"],
            out_channels=kwargs["latent_channels"],
            down_block_types=kwargs["down_block_types"],
            block_out_channels=kwargs["block_out_channels"],
            layers_per_block=kwargs["layers_per_block"],
            norm_num_groups=kwargs["norm_num_groups"],
            double_z=True,
        )
        channels = 2 * kwargs["latent_channels"]
        self.quant_conv = nn.Conv2d(channels, channels, 1)

    def forward(self, log_mel: torch.Tensor) -> DiagonalGaussianDistribution:
        """``log_mel`` ``[B, 1, frames, mels]`` -> posterior over ``[B, latent, frames/8, mels/8]``."""
        return DiagonalGaussianDistribution(self.quant_conv(self.encoder(log_mel)))


class AudioSRModel(nn.Module):
    """All weights of AudioSR inference; ``scale_factor`` is the trained latent scale (a checkpoint buffer)."""

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.config = config
        self.unet = AudioSRUNet(**config["unet"])
        self.vae = AutoencoderKL(**_vae_kwargs(config["vae"]))
        self.cond_encoder = LowpassConditionEncoder(config["vae"])
        self.vocoder = SpeechT5HifiGan(SpeechT5HifiGanConfig(**config["vocoder"]))
        self.register_buffer("scale_factor", torch.tensor(1.0))

    @property
    def latent_downsampling(self) -> int:
        return 2 ** (len(self.config["vae"]["block_out_channels"]) - 1)


def cosine_betas(num_steps: int, s: float) -> np.ndarray:
    """The LDM cosine schedule exactly as upstream ``make_beta_schedule("cosine")`` computes it (float64, unclipped)."""
    t = np.arange(num_steps + 1, dtype=np.float64) / num_steps + s
    alphas = np.cos(t / (1 + s) * np.pi / 2) ** 2
    alphas = alphas / alphas[0]
    return 1 - alphas[1:] / alphas[:-1]


def build_scheduler(config: dict[str, Any]) -> DDIMScheduler:
    """DDIM matching upstream's sampler: "leading" spacing + 1, first step's previous alpha = alphas_cumprod[0],
    v-prediction, no clipping. ``eta`` is given per step (upstream default 1.0)."""
    sched = config["scheduler"]
    if sched.get("beta_schedule", "cosine") != "cosine":
        raise ValueError(f"unsupported beta schedule {sched['beta_schedule']!r} (AudioSR uses 'cosine')")
    betas = cosine_betas(sched["num_train_timesteps"], sched["cosine_s"])
    return DDIMScheduler(
        num_train_timesteps=sched["num_train_timesteps"],
        trained_betas=betas.tolist(),
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
        timestep_spacing="leading",
        prediction_type="v_prediction",
    )
