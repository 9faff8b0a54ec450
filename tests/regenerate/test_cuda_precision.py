"""Precision on CUDA (skipped without a GPU): AudioSR's VAE, condition encoder, vocoder and ``scale_factor`` stay
float32 while its UNet runs in fp16, and a short upsampling gives finite audio."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from regenerate.audiosr import AudioSRUpsampler, tiny_audiosr_config

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _dtypes(module: torch.nn.Module) -> set[torch.dtype]:
    return {p.dtype for p in module.parameters()} | {b.dtype for b in module.buffers() if b.is_floating_point()}


def test_audiosr_keeps_decoder_side_in_float32_when_half_precision_is_asked_for():
    """Runs on CPU too: the dtype placement does not depend on the device."""
    up = AudioSRUpsampler.from_config(tiny_audiosr_config(), device="cpu", dtype=torch.float16)
    assert _dtypes(up.model.unet) == {torch.float16}
    for part in (up.model.vae, up.model.cond_encoder, up.model.vocoder):
        assert _dtypes(part) == {torch.float32}
    assert up.model.scale_factor.dtype == torch.float32


@cuda
@pytest.mark.parametrize("config", ["tiny", "published"])
def test_audiosr_on_cuda_in_fp16_keeps_vae_and_vocoder_fp32_and_is_finite(config):
    from regenerate.audiosr import audiosr_config

    up = AudioSRUpsampler.from_config(tiny_audiosr_config() if config == "tiny" else audiosr_config(), device="cuda")
    assert up.dtype == torch.float16 and _dtypes(up.model.unet) == {torch.float16}
    for part in (up.model.vae, up.model.cond_encoder, up.model.vocoder):
        assert _dtypes(part) == {torch.float32}
    assert up.model.scale_factor.dtype == torch.float32
    t = np.arange(24000) / 48000
    audio = (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    out = up.upsample(audio, 16000, seed=0, steps=3)
    assert out.dtype == np.float32 and len(out) == 72000 and np.isfinite(out).all() and np.abs(out).max() > 0
