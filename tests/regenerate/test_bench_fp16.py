"""Regression: the GPU benchmark's text-to-audio baseline in half precision (it crashed on its first call)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import tiny_models
import torch

from regenerate.audioldm import AudioLDM2Inpainter, AudioLDMInpainter

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_inpainting.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_inpainting", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("cls", [AudioLDMInpainter, AudioLDM2Inpainter])
def test_half_precision_text_to_audio_decodes_with_the_float32_vae(bench, cls, tmp_path):
    build = tiny_models.audioldm_components if cls is AudioLDMInpainter else tiny_models.audioldm2_components
    inpainter = cls(**build(tmp_path)).to("cpu", torch.float16)  # what --fp16 does (CPU stands in for CUDA)
    assert inpainter.unet.dtype == torch.float16 and inpainter.vae.dtype == torch.float32
    pipe = bench.text_to_audio_pipeline(inpainter)
    out = pipe(["a dog barks"], audio_length_in_s=1.28, num_inference_steps=2, guidance_scale=2.5,
               generator=[torch.Generator().manual_seed(0)])  # fmt: skip
    assert out.audios.shape == (1, 20480) and np.isfinite(out.audios).all()
    # the view shares the VAE's weights and leaves the inpainter's own VAE untouched
    assert pipe.vae.encoder is inpainter.vae.encoder and "decode" not in vars(inpainter.vae)
