"""Parity with transcriptions of upstream functions (float64 NumPy, written from reading haoheliu/AudioLDM,
AudioLDM2 and audiosr): DDIM schedule, the masked DDIM loop, guidance, the unconditional conditioning, posterior
sampling and best-of-N selection, run on tiny modules with shared pre-drawn noise."""

from __future__ import annotations

import numpy as np
import pytest
import tiny_models
import torch

from regenerate.audioldm import AudioLDMInpainter
from regenerate.audioldm.clap_score import pick_candidates
from regenerate.audioldm.inpainter import InpaintOptions, candidate_generator
from regenerate.audioldm.mel import peak_normalise
from regenerate.audiosr.model import cosine_betas
from regenerate.ddim import DDIMSchedule, FixedNoise, RowNoise


# -- transcriptions -------------------------------------------------------------------------------------------
def ref_linear_alphas_cumprod(start: float = 0.0015, end: float = 0.0195, n: int = 1000) -> np.ndarray:
    """``make_beta_schedule("linear")`` then ``cumprod(1 - betas)`` (AudioLDM's config values)."""
    betas = np.linspace(start**0.5, end**0.5, n, dtype=np.float64) ** 2
    return np.cumprod(1.0 - betas)


def ref_make_ddim_timesteps(steps: int, train: int = 1000) -> np.ndarray:
    c = train // steps
    return np.asarray(range(0, train, c)) + 1


def ref_make_ddim_sampling_parameters(alphacums: np.ndarray, timesteps: np.ndarray, eta: float):
    alphas = alphacums[timesteps]
    alphas_prev = np.asarray([alphacums[0], *alphacums[timesteps[:-1]].tolist()])
    sigmas = eta * np.sqrt((1 - alphas_prev) / (1 - alphas) * (1 - alphas / alphas_prev))
    return sigmas, alphas, alphas_prev


def ref_masked_ddim(x0, keep, eps_fn, alphacums, steps, eta, noise, guidance=1.0):
    """``DDIMSampler.ddim_sampling(mask=keep, x0=x0)`` + ``p_sample_ddim`` (eps, no clipping, temperature 1);
    ``keep`` is upstream's mask (1 = known frame). ``noise``: x_T, then per step (q_sample noise, step noise)."""
    timesteps = ref_make_ddim_timesteps(steps, len(alphacums))
    sigmas, alphas, alphas_prev = ref_make_ddim_sampling_parameters(alphacums, timesteps, eta)
    draws = iter(noise)
    img = next(draws)
    for i, step in enumerate(np.flip(timesteps)):
        index = len(timesteps) - i - 1
        a = alphacums[step]
        img_orig = np.sqrt(a) * x0 + np.sqrt(1 - a) * next(draws)
        img = img_orig * keep + (1.0 - keep) * img
        e_cond, e_uncond = eps_fn(img, step, True), eps_fn(img, step, False)
        e_t = e_uncond + guidance * (e_cond - e_uncond)
        a_t, a_prev, sigma = alphas[index], alphas_prev[index], sigmas[index]
        pred_x0 = (img - np.sqrt(1 - a_t) * e_t) / np.sqrt(a_t)
        img = np.sqrt(a_prev) * pred_x0 + np.sqrt(1 - a_prev - sigma**2) * e_t + sigma * next(draws)
    return img


def ref_pick(similarity: np.ndarray, clips: int) -> list[int]:
    """Upstream's selection: ``candidates = similarity[i::B]``; ``best = i + argmax * B``."""
    return [i + int(np.argmax(similarity[i::clips])) * clips for i in range(clips)]


# -- a deterministic stand-in UNet, the same function on both sides ------------------------------------------
class StubUNet(torch.nn.Module):
    """eps = tanh(0.5 x + 0.001 t) +- 0.1 (conditional / unconditional rows, told apart by ``class_labels``)."""

    dtype = torch.float32

    def forward(self, x, timestep, encoder_hidden_states=None, class_labels=None, return_dict=False):
        eps = torch.tanh(0.5 * x + 0.001 * timestep.reshape(-1, 1, 1, 1).double())
        return (eps + 0.1 * class_labels.reshape(-1, 1, 1, 1),)


def stub_eps(x: np.ndarray, t: int, conditional: bool) -> np.ndarray:
    return np.tanh(0.5 * x + 0.001 * t) + (0.1 if conditional else -0.1)


class StubInpainter(AudioLDMInpainter):
    """The tiny AudioLDM with its UNet replaced by :class:`StubUNet` (text rows: -1 unconditional, +1 caption)."""

    def encode_text(self, captions, guidance):
        rows = ([-1.0] * len(captions) if guidance else []) + [1.0] * len(captions)
        return {"encoder_hidden_states": None, "class_labels": torch.tensor(rows, dtype=torch.float64)}


# -- tests ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("steps", [50, 100, 200])
@pytest.mark.parametrize("eta", [1.0, 0.0])
def test_ddim_schedule_matches_make_ddim_sampling_parameters(ldm1, steps, eta):
    alphacums = ref_linear_alphas_cumprod()
    np.testing.assert_allclose(ldm1.scheduler.alphas_cumprod.double().numpy(), alphacums, rtol=1e-5)  # float32
    timesteps = ref_make_ddim_timesteps(steps)
    sigmas, alphas, alphas_prev = ref_make_ddim_sampling_parameters(alphacums, timesteps, eta)
    ours = DDIMSchedule.make(ldm1.scheduler.alphas_cumprod, steps, eta)
    assert list(ours.timesteps) == list(np.flip(timesteps))
    np.testing.assert_allclose(ours.alphas, np.flip(alphas), rtol=1e-5)
    np.testing.assert_allclose(ours.alphas_prev, np.flip(alphas_prev), rtol=1e-5)
    np.testing.assert_allclose(ours.sigmas, np.flip(sigmas), rtol=1e-5, atol=1e-9)


def test_audiosr_cosine_schedule_gives_the_same_ddim_parameters():
    alphacums = np.cumprod(1.0 - cosine_betas(1000, 0.008))
    ours = DDIMSchedule.make(torch.tensor(alphacums), 50, 1.0)
    sigmas, _, alphas_prev = ref_make_ddim_sampling_parameters(alphacums, ref_make_ddim_timesteps(50), 1.0)
    np.testing.assert_allclose(ours.alphas_prev, np.flip(alphas_prev), rtol=1e-12)
    np.testing.assert_allclose(ours.sigmas, np.flip(sigmas), rtol=1e-12)


@pytest.mark.parametrize("steps", [50, 100, 200])
@pytest.mark.parametrize("final_reset", [False, True])
def test_masked_ddim_loop_matches_upstream_transcription(tmp_path, steps, final_reset):
    inpainter = StubInpainter(**tiny_models.audioldm_components(tmp_path))
    inpainter.unet = StubUNet()
    shape = (2, 8, 12, 4)
    rng = np.random.default_rng(steps)
    x0 = rng.standard_normal(shape)
    keep = np.ones((2, 1, 12, 1))
    keep[0, :, 3:7], keep[1, :, 5:11] = 0, 0
    noise = [rng.standard_normal(shape) for _ in range(1 + 2 * steps)]
    alphacums = inpainter.scheduler.alphas_cumprod.double().numpy()
    expected = ref_masked_ddim(x0, keep, stub_eps, alphacums, steps, 1.0, noise, guidance=2.5)
    if final_reset:
        expected = keep * x0 + (1 - keep) * expected
    cond = inpainter.encode_text(["a", "b"], guidance=True)
    got = inpainter.denoise(
        torch.from_numpy(x0), torch.from_numpy(keep == 0), cond, FixedNoise([torch.from_numpy(n) for n in noise]),
        steps, 2.5, 1.0, final_reset=final_reset,
    )  # fmt: skip
    np.testing.assert_allclose(got.double().numpy(), expected, rtol=0, atol=2e-5 * np.abs(expected).max())


def test_guidance_one_is_conditional_only_as_upstream(tmp_path):
    inpainter = StubInpainter(**tiny_models.audioldm_components(tmp_path))
    inpainter.unet = StubUNet()
    x = torch.zeros(1, 8, 4, 4)
    cond = inpainter.encode_text(["a"], guidance=False)
    expected = stub_eps(np.zeros(x.shape), 11, True)
    np.testing.assert_allclose(inpainter._predict_noise(x, 11, cond, 1.0).numpy(), expected, rtol=1e-6)
    both = inpainter.encode_text(["a"], guidance=True)
    # guidance 0 is the unconditional branch (upstream guides whenever the scale is not 1)
    expected = stub_eps(np.zeros(x.shape), 11, False)
    np.testing.assert_allclose(inpainter._predict_noise(x, 11, both, 0.0).numpy(), expected, rtol=1e-6)


def test_posterior_sample_is_mean_plus_std_times_the_clips_seeded_noise(ldm1):
    prepared = ldm1.prepare([np.sin(np.arange(12000) / 9.0).astype(np.float32)] * 2)
    posterior = ldm1.vae.encode(prepared.mel).latent_dist
    seeds = [3, 4]
    # transcription: DiagonalGaussianDistribution.sample() = mean + std * randn; get_first_stage_encoding * scale
    expected = []
    for row, seed in enumerate(seeds):
        eps = torch.randn(posterior.mean.shape[1:], generator=torch.Generator().manual_seed(seed))
        expected.append((posterior.mean[row] + torch.exp(0.5 * posterior.logvar[row]) * eps) * 0.9)
    noise = RowNoise([torch.Generator().manual_seed(s) for s in seeds], torch.device("cpu"))
    got = ldm1.encode_latents(prepared.mel, noise)
    torch.testing.assert_close(got, torch.stack(expected), rtol=1e-5, atol=1e-6)
    mean = ldm1.encode_latents(prepared.mel)
    torch.testing.assert_close(mean, posterior.mean * 0.9)
    assert not torch.allclose(got, mean)


def test_audioldm2_unconditional_rows_are_zeros_and_the_empty_caption_t5_states(ldm2):
    out = ldm2.encode_text(["a dog barks", "rain"], guidance=True)
    generated, t5, mask = out["encoder_hidden_states"], out["encoder_hidden_states_1"], out["encoder_attention_mask_1"]
    # upstream get_unconditional_condition: zeros [B, token_num, 768-wide] with a mask of ones ...
    assert generated.shape == (4, ldm2.max_new_tokens, ldm2.language_model.config.n_embd)
    assert torch.count_nonzero(generated[:2]) == 0 and torch.count_nonzero(generated[2:]) > 0
    # ... and FlanT5HiddenState's: the T5 states of "" with a mask of ones over their length
    empty_t5, _ = ldm2._encode_caption("")
    n = empty_t5.shape[1]
    torch.testing.assert_close(t5[:2, :n], empty_t5.expand(2, -1, -1))
    assert mask[:2, :n].all() and not mask[:2, n:].any()
    ldm2.unconditional = "empty-caption"  # diffusers' behaviour, kept as an option
    try:
        diffusers_like = ldm2.encode_text(["rain"], guidance=True)["encoder_hidden_states"]
    finally:
        ldm2.unconditional = "zeros"
    torch.testing.assert_close(diffusers_like[0], ldm2._encode_caption("")[1][0])


def test_selection_index_per_clip_matches_upstream():
    rng = np.random.default_rng(0)
    for clips, candidates in [(1, 3), (2, 3), (4, 2), (3, 5)]:
        similarity = rng.standard_normal(clips * candidates).astype(np.float32)
        assert pick_candidates(torch.from_numpy(similarity), clips) == ref_pick(similarity, clips)
    tie = torch.tensor([0.5, 0.2, 0.5, 0.9])  # clip 0: candidates 0 and 1 tie -> the first, as argmax
    assert pick_candidates(tie, 2) == ref_pick(tie.numpy(), 2) == [0, 3]


class FixedScores:
    """A CLAP stand-in that returns given similarities (rows candidate-major) and records what it scored."""

    name = "fixed"

    def __init__(self, scores):
        self.scores, self.seen = torch.tensor(scores), None

    def score(self, waves, sample_rate, captions):
        self.seen = (np.stack(waves), list(captions))
        return self.scores


def test_best_of_n_returns_the_winning_candidate_and_batch_equals_single_calls(ldm1):
    clips = [np.sin(np.arange(14000) / (5.0 + i)).astype(np.float32) * 0.3 for i in range(2)]
    regions, captions, seeds = [(0.2, 0.5), (0.3, 0.6)], ["dog", "rain"], [11, 12]
    scorer = FixedScores([0.1, 0.2, 0.7, 0.3, 0.3, 0.8])  # clip 0 -> row 2 (cand. 1), clip 1 -> row 5 (cand. 2)
    options = InpaintOptions(n_candidates=3, scorer=scorer)
    batch = ldm1.inpaint_detailed(clips, regions, captions, seeds, steps=3, guidance=2.5, options=options)
    assert [(r.candidate, r.clap_score) for r in batch] == [(1, pytest.approx(0.7)), (2, pytest.approx(0.8))]
    waves, scored_captions = scorer.seen
    assert scored_captions == captions * 3 and len(waves) == 6
    for result, row, clip in zip(batch, [2, 5], clips, strict=True):  # the winner's audio, level restored
        np.testing.assert_allclose(result.audio * peak_normalise(clip)[1], waves[row][: len(clip)], rtol=1e-6)
    # candidate k of clip i uses its own generator: a clip alone with the same seed gives the same candidates
    single = FixedScores([0.1, 0.7, 0.3])
    ldm1.inpaint_detailed(clips[:1], regions[:1], captions[:1], seeds[:1], steps=3, guidance=2.5,
                          options=InpaintOptions(n_candidates=3, scorer=single))  # fmt: skip
    np.testing.assert_allclose(single.seen[0], waves[[0, 2, 4]], rtol=0, atol=1e-4 * np.abs(waves).max())
    # candidate 0 is what n_candidates=1 gives
    plain = ldm1.inpaint(clips[:1], regions[:1], captions[:1], seeds[:1], steps=3, guidance=2.5)[0]
    first = FixedScores([0.9, 0.1, 0.1])
    again = ldm1.inpaint_detailed(clips[:1], regions[:1], captions[:1], seeds[:1], steps=3, guidance=2.5,
                                  options=InpaintOptions(n_candidates=3, scorer=first))[0]  # fmt: skip
    np.testing.assert_allclose(again.audio, plain, rtol=0, atol=1e-5 * np.abs(plain).max())
    assert candidate_generator(5, 0).initial_seed() == 5 and candidate_generator(5, 1).initial_seed() != 5


def test_missing_clap_for_audioldm_fails_with_one_actionable_line(ldm1, monkeypatch, tmp_path):
    from regenerate.audioldm import CheckpointUnavailableError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache
    with pytest.raises(CheckpointUnavailableError, match=r"laion/clap-htsat-unfused.*n_candidates=1") as error:
        ldm1.clap_scorer()
    assert "\n" not in str(error.value)
