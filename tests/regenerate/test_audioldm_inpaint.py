"""Latent inpainting loop of AudioLDM / AudioLDM 2 on tiny random models (CPU, fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest
import tiny_models
import torch

from pipeline.audio_io import resample
from regenerate.audioldm import AudioLDM2Inpainter, InpaintStep
from regenerate.audioldm.mel import peak_normalise
from regenerate.ddim import RowNoise

STEPS = 3


@pytest.fixture(scope="module")
def clips(real_clip, real_event):
    """Two real recordings at 16 kHz: 0.9 s and an odd 14001 samples (both pad to 96 mel frames)."""
    (bg, sr), (ev, sr2) = real_clip, real_event
    return [resample(bg, sr, 16000)[16000 : 16000 + 14400], resample(ev, sr2, 16000)[:14001]]


def test_known_latents_are_renoised_originals_before_every_step(ldm1, clips):
    steps: list[InpaintStep] = []
    region = (0.3, 0.6)
    ldm1.inpaint(
        [clips[0]], [region], ["a dog barks"], [7], steps=STEPS, guidance=2.5, eta=1.0, callback=steps.append,
        posterior="mean",
    )  # fmt: skip
    assert [s.index for s in steps] == list(range(STEPS))
    # x0 computed independently: normalise, zero-pad to the padded length, log-mel, VAE posterior mean.
    frames = ldm1.padded_frames(len(clips[0]))
    assert frames % 16 == 0 and frames * 160 >= len(clips[0])
    wave = np.zeros(frames * 160, dtype=np.float32)
    wave[: len(clips[0])] = peak_normalise(clips[0])[0]
    mel = ldm1.mel(torch.from_numpy(wave)[None])[:, None, :frames]
    x0 = ldm1.vae.encode(mel).latent_dist.mean * ldm1.vae.config.scaling_factor
    alphas = ldm1.scheduler.alphas_cumprod
    for step in steps:
        keep = ~step.mask.expand_as(step.latents)
        assert torch.equal(step.latents[keep], step.known[keep])
        a = alphas[step.timestep]
        expected = a.sqrt() * x0 + (1 - a).sqrt() * step.noise
        torch.testing.assert_close(step.known, expected, atol=1e-5, rtol=1e-5)
        assert not torch.allclose(step.latents[~keep], step.known[~keep])
    # Fresh noise at every step (AudioLDM's q_sample), descending timesteps.
    assert not torch.equal(steps[0].noise, steps[1].noise)
    assert [s.timestep for s in steps] == sorted((s.timestep for s in steps), reverse=True)
    # The mask covers exactly the latent frames of [0.3, 0.6] s (40 ms per latent frame).
    rows = torch.nonzero(steps[0].mask[0, 0, :, 0]).flatten().tolist()
    assert rows == list(range(7, 15))


def test_final_latents_keep_originals_and_regenerate_region(ldm1, clips):
    prepared = ldm1.prepare([clips[0]])
    x0 = ldm1.encode_latents(prepared.mel)
    mask = ldm1.latent_mask([(0.3, 0.6)], x0.shape[2], margin_s=0.1)
    assert torch.nonzero(mask[0, 0, :, 0]).flatten().tolist() == list(range(5, 18))
    cond = ldm1.encode_text(["rain"], guidance=True)
    out = ldm1.denoise(x0, mask, cond, RowNoise([torch.Generator().manual_seed(0)], x0.device), STEPS, 2.5, 0.0)
    keep = ~mask.expand_as(out)
    assert torch.equal(out[keep], x0[keep])
    assert (out[~keep] - x0[~keep]).abs().mean() > 0.1


@pytest.mark.parametrize("which", ["ldm1", "ldm2"])
def test_batch_equals_single_calls_and_seeds_are_reproducible(which, request, clips):
    model = request.getfixturevalue(which)
    regions, captions, seeds = [(0.3, 0.6), (0.1, 0.5)], ["a dog barks", "a cow moos in a field"], [11, 12]
    kwargs = {"steps": STEPS, "guidance": 3.0, "eta": 1.0}
    batch = model.inpaint(clips, regions, captions, seeds, **kwargs)
    assert [len(b) for b in batch] == [len(c) for c in clips]  # odd length 14001 padded and cropped
    for i in range(2):
        single = model.inpaint([clips[i]], [regions[i]], [captions[i]], [seeds[i]], **kwargs)[0]
        np.testing.assert_allclose(single, batch[i], rtol=0, atol=1e-4 * np.abs(batch[i]).max())
    again = model.inpaint([clips[0]], [regions[0]], [captions[0]], [seeds[0]], **kwargs)[0]
    other = model.inpaint([clips[0]], [regions[0]], [captions[0]], [seeds[0] + 1], **kwargs)[0]
    single = model.inpaint([clips[0]], [regions[0]], [captions[0]], [seeds[0]], **kwargs)[0]
    assert np.array_equal(again, single)
    start, stop = int(0.3 * 16000), int(0.6 * 16000)
    assert not np.allclose(other[start:stop], single[start:stop])


def test_odd_lengths_pad_to_the_unet_multiple(ldm1):
    # 3 UNet blocks x VAE factor 4 -> 16 mel frames; a 12345-sample clip needs 78 frames -> 80.
    assert ldm1.frame_multiple == 16
    assert ldm1.padded_frames(12345) == 80
    assert ldm1.padded_frames(160 * 80) == 80
    assert ldm1.padded_frames(160 * 80 + 1) == 96
    prepared = ldm1.prepare([np.ones(12345, dtype=np.float32)])
    assert prepared.mel.shape == (1, 1, 80, 64)
    assert ldm1.encode_latents(prepared.mel).shape == (1, 8, 20, 16)


def test_text_conditioning_shapes(ldm1, ldm2):
    c1 = ldm1.encode_text(["a", "b c"], guidance=True)
    assert c1["class_labels"].shape == (4, 16)
    torch.testing.assert_close(c1["class_labels"].norm(dim=-1), torch.ones(4))
    c2 = ldm2.encode_text(["a", "b c"], guidance=True)
    assert c2["encoder_hidden_states"].shape == (4, ldm2.max_new_tokens, 16)
    assert c2["encoder_hidden_states_1"].shape[0] == 4 and c2["encoder_hidden_states_1"].shape[2] == 24
    # Unconditional rows (the empty caption) come first and differ from the captions' rows.
    assert not torch.allclose(c2["encoder_hidden_states"][0], c2["encoder_hidden_states"][2])
    torch.testing.assert_close(c2["encoder_hidden_states"][0], c2["encoder_hidden_states"][1])


def test_half_precision_keeps_vae_vocoder_and_t5_wo_in_float32(tmp_path, clips):
    model = AudioLDM2Inpainter(**tiny_models.audioldm2_components(tmp_path)).to("cpu", torch.float16)
    assert model.unet.dtype == model.language_model.dtype == model.text_encoder_2.shared.weight.dtype == torch.float16
    assert model.vae.dtype == model.vocoder.dtype == torch.float32
    wo = [p.dtype for n, p in model.text_encoder_2.named_parameters() if ".wo." in n]
    assert wo and set(wo) == {torch.float32}  # T5's feed-forward output overflows in fp16
    out = model.inpaint([clips[0]], [(0.3, 0.6)], ["rain"], [0], steps=2, guidance=3.0)[0]
    assert out.dtype == np.float32 and len(out) == len(clips[0]) and np.isfinite(out).all()
