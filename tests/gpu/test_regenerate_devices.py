"""Diffusion models on the device: dtypes after loading, finite outputs of a few steps, fp16-vs-fp32 error of the
float32 islands (VAE decoder, vocoder), and the GPU benchmark's first call.

Relative errors are recorded as test properties (``record_property``): ``benchmarks/gpu_check.py`` prints them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tiny_models
import torch
from device_params import CUDA, DEVICES, ROOT, load_benchmark, skip_without

from regenerate.audioldm import AudioLDM2Inpainter, AudioLDMInpainter
from regenerate.audiosr import AudioSRUpsampler, audiosr_config, tiny_audiosr_config
from regenerate.configs import AUDIOLDM, AUDIOLDM2

HALF = torch.float16
STEPS = 3
INPAINTERS = {"audioldm": AudioLDMInpainter, "audioldm2": AudioLDM2Inpainter}
GUIDANCE = {"audioldm": AUDIOLDM.guidance, "audioldm2": AUDIOLDM2.guidance}  # the recipes' defaults


def _dtypes(module: torch.nn.Module) -> set[torch.dtype]:
    return {p.dtype for p in module.parameters()} | {b.dtype for b in module.buffers() if b.is_floating_point()}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, object]:
    """Tiny AudioLDM / AudioLDM 2 checkpoints saved in the published diffusers layout."""
    root = tmp_path_factory.mktemp("ckpt")
    return {
        "audioldm": tiny_models.save_checkpoint(tiny_models.audioldm_components(root / "p1"), root / "audioldm"),
        "audioldm2": tiny_models.save_checkpoint(
            tiny_models.audioldm2_components(root / "p2"), root / "audioldm2", audioldm2=True
        ),
    }


def _clip(seconds: float = 0.9, rate: int = 16000) -> np.ndarray:
    return (0.1 * np.random.default_rng(0).standard_normal(round(seconds * rate))).astype(np.float32)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(INPAINTERS))
def test_inpainter_dtypes_after_loading(name, device, checkpoints):
    """Half precision where it is safe (denoiser, text side); VAE, vocoder and the mel front end in float32."""
    skip_without(device)
    model = INPAINTERS[name].from_pretrained(checkpoints[name], device=device, dtype=HALF)
    assert model.unet.dtype == HALF and model.unet.device.type == device
    for part in (model.vae, model.vocoder, model.mel):
        assert _dtypes(part) == {torch.float32}, type(part).__name__
    if name == "audioldm2":
        assert model.language_model.dtype == model.projection_model.dtype == HALF
        wo = {p.dtype for n, p in model.text_encoder_2.named_parameters() if ".wo." in n}
        assert wo == {torch.float32}  # T5's feed-forward output overflows in fp16


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(INPAINTERS))
def test_inpainter_few_steps_are_finite(name, device, checkpoints):
    skip_without(device)
    model = INPAINTERS[name].from_pretrained(checkpoints[name], device=device, dtype=HALF)
    clip = _clip()
    out = model.inpaint(
        [clip, clip[:9000]], [(0.3, 0.6), (0.1, 0.4)], ["rain", "a dog"], [0, 1], steps=STEPS, guidance=GUIDANCE[name]
    )
    assert [len(o) for o in out] == [len(clip), 9000]
    assert all(o.dtype == np.float32 and np.isfinite(o).all() for o in out)


def _tiny_audiosr(device: str, dtype: torch.dtype) -> AudioSRUpsampler:
    return AudioSRUpsampler.from_config(tiny_audiosr_config(), device=device, dtype=dtype, seed=0)


@pytest.mark.parametrize("device", ["cpu", CUDA])
def test_audiosr_dtypes_after_loading(device):
    """The denoiser in half precision; the VAE decoder, low-pass condition encoder, 48 kHz vocoder and
    ``scale_factor`` in float32 (as for AudioLDM: fp16 there overflows and leaves rounding noise in the band)."""
    skip_without(device)
    model = _tiny_audiosr(device, HALF).model
    assert _dtypes(model.unet) == {HALF}
    for part in ("vae", "cond_encoder", "vocoder"):
        assert _dtypes(getattr(model, part)) == {torch.float32}, part
    assert torch.as_tensor(model.scale_factor).dtype == torch.float32


@pytest.mark.parametrize("device", DEVICES)
def test_tiny_audiosr_few_steps_are_finite(device):
    skip_without(device)
    upsampler = _tiny_audiosr(device, HALF if device == "cuda" else torch.float32)
    out = upsampler.upsample(_clip(1.0), 16000, seed=0, steps=STEPS)
    assert out.dtype == np.float32 and len(out) == 48000 and np.isfinite(out).all()


@pytest.mark.gpu
def test_full_size_audiosr_three_steps_are_finite():
    """The published architecture (random weights) in its CUDA default precision, one 5.12 s chunk."""
    skip_without("cuda")
    upsampler = AudioSRUpsampler.from_config(audiosr_config(), device="cuda", seed=0)
    out = upsampler.upsample(_clip(5.12, 48000), 48000, seed=0, steps=3)
    assert len(out) == round(5.12 * 48000) and np.isfinite(out).all()


def relative_error(reference: torch.Tensor, other: torch.Tensor) -> float:
    """``||other - reference|| / ||reference||`` in float64."""
    reference, other = reference.double(), other.double()
    return float((other - reference).norm() / reference.norm())


def _published_vae_and_vocoder():
    from diffusers import AutoencoderKL
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    cfg = json.loads((ROOT / "benchmarks" / "configs" / "audioldm_s_full_v2.json").read_text())
    torch.manual_seed(0)
    return AutoencoderKL(**cfg["vae"]).eval(), SpeechT5HifiGan(SpeechT5HifiGanConfig(**cfg["vocoder"])).eval()


@pytest.mark.parametrize("device", DEVICES)
def test_fp16_vs_fp32_relative_error_of_vae_decode_and_vocoder(device, record_property):
    """Why the VAE decoder and vocoder stay float32: their fp16 error, measured against float32 with TF32 off.
    The published AudioLDM-S sizes on CUDA, the tiny ones on the CPU (random weights both: the figure is the
    arithmetic's, not a trained model's). Only gross failures (overflow, > 5 %) fail the test."""
    skip_without(device)
    if device == "cuda":
        vae, vocoder = _published_vae_and_vocoder()
        frames = 1024  # 10.24 s of mel frames
    else:
        torch.manual_seed(0)
        vae, vocoder, frames = tiny_models.vae(), tiny_models.vocoder(), 96
    vae, vocoder = vae.to(device), vocoder.to(device)
    generator = torch.Generator().manual_seed(0)
    bins = vocoder.config.model_in_dim // 2 ** (len(vae.config.block_out_channels) - 1)
    latents = torch.randn(1, vae.config.latent_channels, frames // 2 ** (len(vae.config.block_out_channels) - 1), bins,
                          generator=generator).to(device)  # fmt: skip
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.no_grad():
            mel32 = vae.decode(latents).sample
            mel16 = vae.half().decode(latents.half()).sample.float()
            wave32 = vocoder(mel32.squeeze(1))
            wave16 = vocoder.half()(mel32.squeeze(1).half()).float()
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    errors = {"vae_decode": relative_error(mel32, mel16), "vocoder": relative_error(wave32, wave16)}
    for key, value in errors.items():
        record_property(f"fp16_rel_err_{key}", f"{value:.2e}")
    assert torch.isfinite(mel16).all() and torch.isfinite(wave16).all()
    assert all(value < 0.05 for value in errors.values()), errors


@pytest.mark.parametrize("device", ["cpu", CUDA])
@pytest.mark.parametrize("name", sorted(INPAINTERS))
def test_gpu_benchmark_first_call(name, device, checkpoints):
    """``bench_inpainting.py --fp16`` starts with diffusers' text-to-audio on our components: it must run."""
    skip_without(device)
    bench = load_benchmark("bench_inpainting")
    inpainter = INPAINTERS[name].from_pretrained(checkpoints[name], device=device, dtype=HALF)
    pipe = bench.text_to_audio_pipeline(inpainter)
    generators = [torch.Generator("cpu").manual_seed(s) for s in range(2)]
    seconds = inpainter.padded_frames(len(_clip())) * inpainter.hop / inpainter.sample_rate
    audio = pipe([bench.CAPTION] * 2, audio_length_in_s=seconds, num_inference_steps=STEPS, guidance_scale=3.5,
                 generator=generators, output_type="np").audios  # fmt: skip
    assert np.isfinite(audio).all() and audio.shape[0] == 2
