"""Component configs: the published AudioSR architecture and a tiny stand-in for tests.

The published values come from upstream ``default_audioldm_config`` (identical for the ``basic`` and ``speech``
checkpoints) and ``get_vocoder_config_48k``, written in the argument names of the modules built here.
"""

from __future__ import annotations

import copy
from typing import Any

from regenerate.configs import AUDIOSR_CHECKPOINT_FILE
from regenerate.configs import AUDIOSR_HUB_IDS as HUB_IDS  # noqa: F401 - the ids are written there

CHECKPOINT_FILE = AUDIOSR_CHECKPOINT_FILE

AUDIOSR_CONFIG: dict[str, Any] = {
    "unet": {
        "in_channels": 32,  # 16 noisy latent + 16 low-pass conditioning latent
        "out_channels": 16,
        "model_channels": 128,
        "channel_mult": [1, 2, 3, 5],
        "num_res_blocks": 2,
        "attention_resolutions": [8, 4, 2],
        "num_head_channels": 32,
        "extra_sa_layer": True,
        "transformer_depth": 1,
    },
    # diffusers AutoencoderKL arguments for the LDM VAE (ch 128, ch_mult 1,2,4,8, z 16, embed 16, mid attention).
    "vae": {
        "in_channels": 1,
        "out_channels": 1,
        "block_out_channels": [128, 256, 512, 1024],
        "layers_per_block": 2,
        "latent_channels": 16,
        "norm_num_groups": 32,
    },
    # transformers SpeechT5HifiGan arguments for the 48 kHz HiFi-GAN v1 (hop 480 = 6*5*4*2*2).
    "vocoder": {
        "model_in_dim": 256,
        "sampling_rate": 48000,
        "upsample_initial_channel": 1536,
        "upsample_rates": [6, 5, 4, 2, 2],
        "upsample_kernel_sizes": [12, 10, 8, 4, 4],
        "resblock_kernel_sizes": [3, 7, 11, 15],
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5], [1, 3, 5]],
        "leaky_relu_slope": 0.1,
        "normalize_before": False,
    },
    "scheduler": {"num_train_timesteps": 1000, "beta_schedule": "cosine", "cosine_s": 0.008},
}


def audiosr_config() -> dict[str, Any]:
    """A fresh copy of the published architecture."""
    return copy.deepcopy(AUDIOSR_CONFIG)


def tiny_audiosr_config() -> dict[str, Any]:
    """Same structure (4 VAE levels, attention levels, extra self-attention, 48 kHz hop 480), tiny widths."""
    config = audiosr_config()
    config["unet"].update(
        in_channels=8, out_channels=4, model_channels=32, channel_mult=[1, 1], num_res_blocks=1,
        attention_resolutions=[2], num_head_channels=16,
    )  # fmt: skip
    config["vae"].update(block_out_channels=[4, 4, 8, 8], layers_per_block=1, latent_channels=4, norm_num_groups=4)
    config["vocoder"].update(upsample_initial_channel=32, resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1]])
    return config
