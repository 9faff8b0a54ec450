"""The inpainting Regenerator (splice, batching, windows, AudioSR wiring) and checkpoint loading / start-up errors."""

from __future__ import annotations

import dataclasses
import shutil
import time

import numpy as np
import pytest
import tiny_models

from pipeline.audio_io import resample
from pipeline.errors import RejectedInput
from pipeline.splice import rms, splice
from pipeline.timemath import segment_to_samples
from regenerate.audioldm import (
    AudioLDM2Inpainter,
    AudioLDMInpainter,
    CheckpointUnavailableError,
    InpaintRegenerator,
    create_inpaint_regenerator,
)
from regenerate.audioldm.regenerator import AUDIOSR_CONTEXT_S, crop_region
from regenerate.base import Regenerator, RegionRequest
from regenerate.configs import AudioSRConfig, InpaintConfig
from regenerate.recipes import create_regenerators, get_recipe

RATE = 22050  # an odd output rate: resampling both ways


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    return {
        "audioldm": tiny_models.audioldm_components(folder / "v1"),
        "audioldm2": tiny_models.audioldm2_components(folder / "v2"),
    }


@pytest.fixture(scope="module")
def checkpoints(parts, tmp_path_factory):
    """The tiny components saved in the published diffusers layout."""
    root = tmp_path_factory.mktemp("checkpoints")
    return {
        "audioldm": tiny_models.save_checkpoint(parts["audioldm"], root / "audioldm"),
        "audioldm2": tiny_models.save_checkpoint(parts["audioldm2"], root / "audioldm2", audioldm2=True),
    }


@pytest.fixture(scope="module")
def ldm1(parts):
    return AudioLDMInpainter(**parts["audioldm"])


@pytest.fixture(scope="module")
def clip(real_clip):
    audio, sr = real_clip
    return resample(audio[: 2 * sr], sr, RATE)  # 2 s of a real river recording


def request(audio, region, seed=3, caption="a dog barks", clip_id="c"):
    return RegionRequest(clip_id=clip_id, audio=audio, sample_rate=RATE, region=region, caption=caption, seed=seed)


def test_regenerated_region_splices_with_bit_identical_outside(ldm1, clip):
    config = InpaintConfig("tiny", steps=2, guidance=2.5, n_candidates=1, eta=0.0, margin_s=0.08)
    regen = InpaintRegenerator(ldm1, config)
    assert isinstance(regen, Regenerator)
    region = (0.52, 1.28)
    result = regen.regenerate(request(clip, region))
    start, stop = segment_to_samples(region, RATE)
    assert result.sample_rate == RATE and result.audio.dtype == np.float32 and len(result.audio) == stop - start
    assert result.info == {
        "generator": "audioldm",
        "checkpoint": "tiny",
        "steps": 2,
        "guidance": 2.5,
        "eta": 0.0,
        "seed": 3,
        "margin_s": 0.08,
        "n_candidates": 1,
        "clap": None,
        "posterior": "sample",
        "final_reset": True,
        "audiosr": None,
        "audiosr_steps": None,
        "candidate": 0,
        "clap_score": None,
    }
    fake = splice(clip, result.audio, region, RATE, loudness_match=True)
    assert np.array_equal(fake[:start], clip[:start]) and np.array_equal(fake[stop:], clip[stop:])
    assert not np.allclose(fake[start:stop], clip[start:stop], atol=1e-3)
    assert rms(fake[start:stop]) == pytest.approx(rms(clip[start:stop]), rel=1e-2)  # noise peaks clip at full scale


def test_batch_groups_by_length_and_equals_single_calls(ldm1, clip):
    config = InpaintConfig("tiny", steps=2, guidance=2.5, n_candidates=1, eta=1.0, batch_size=2)
    regen = InpaintRegenerator(ldm1, config)
    requests = [
        request(clip, (0.2, 0.6), seed=1, caption="rain", clip_id="a"),
        request(clip[: int(1.3 * RATE)], (0.4, 0.9), seed=2, clip_id="b"),  # other padded length
        request(clip[::-1].copy(), (1.0, 1.4), seed=3, caption="wind", clip_id="c"),
    ]
    batch = regen.regenerate_batch(requests)
    for req, got in zip(requests, batch, strict=True):
        single = regen.regenerate(req).audio
        assert len(got.audio) == len(single) and got.info["seed"] == req.seed
        np.testing.assert_allclose(got.audio, single, rtol=0, atol=1e-4 * np.abs(single).max())


def test_long_clips_are_inpainted_in_a_window_around_the_region(ldm1, clip):
    regen = InpaintRegenerator(ldm1, InpaintConfig("tiny", steps=2, guidance=2.5, n_candidates=1, max_window_s=0.64))
    region = (1.2, 1.5)
    result = regen.regenerate(request(clip, region))
    start, stop = segment_to_samples(region, RATE)
    assert len(result.audio) == stop - start and np.isfinite(result.audio).all()
    with pytest.raises(RejectedInput, match="outside"):
        regen.regenerate(request(clip, (1.8, 2.5)))


def test_crop_region_is_sample_aligned():
    """A ramp holding each sample's clip time comes back as the region's times at the output rate."""
    wave_start = 0.7
    ramp = (wave_start + np.arange(16000) / 16000).astype(np.float32)  # 1 s at 16 kHz from 0.7 s
    region = (1.0, 1.3)
    got = crop_region(ramp, 16000, wave_start, region, RATE)
    start, stop = segment_to_samples(region, RATE)
    np.testing.assert_allclose(got[50:-50], (np.arange(start, stop) / RATE)[50:-50], atol=2e-4)


class RecordingUpsampler:
    """Test double for AudioSR's interface, for wiring only: records its input, returns a 48 kHz time ramp."""

    sample_rate = 48000

    def __init__(self):
        self.calls = []

    def upsample(self, audio, sample_rate, seed, steps):
        self.calls.append({"audio": audio.copy(), "sample_rate": sample_rate, "seed": seed, "steps": steps})
        n = round(len(audio) * self.sample_rate / sample_rate)
        return (np.arange(n) / self.sample_rate).astype(np.float32)


def test_audiosr_gets_the_decoded_segment_and_its_output_is_cropped(ldm1, clip):
    upsampler = RecordingUpsampler()
    regen = InpaintRegenerator(ldm1, InpaintConfig("tiny", steps=2, guidance=2.5, n_candidates=1), upsampler=upsampler,
                               audiosr=AudioSRConfig("haoheliu/audiosr_basic", steps=7))
    region = (1.2, 1.5)
    result = regen.regenerate(request(clip, region, seed=9))
    (call,) = upsampler.calls
    assert (call["sample_rate"], call["seed"], call["steps"]) == (16000, 9, 7)
    # The segment sent is the inpainted clip (decoded at 16 kHz), region +- the context, clipped to the clip.
    decoded = ldm1.inpaint([resample(clip, RATE, 16000)], [(1.2, 1.5)], ["a dog barks"], [9], steps=2, guidance=2.5)
    seg_start = region[0] - AUDIOSR_CONTEXT_S
    np.testing.assert_allclose(call["audio"], decoded[0][round(seg_start * 16000) :], atol=1e-6)
    # AudioSR's 48 kHz output is brought to the request's rate and cropped to exactly the region.
    start, stop = segment_to_samples(region, RATE)
    assert len(result.audio) == stop - start
    expected = np.arange(start, stop) / RATE - seg_start
    np.testing.assert_allclose(result.audio[50:-50], expected[50:-50], atol=2e-4)
    assert result.info["audiosr"] == "haoheliu/audiosr_basic" and result.info["audiosr_steps"] == 7


def test_real_audiosr_offers_the_interface_used():
    audiosr = pytest.importorskip("regenerate.audiosr")
    upsampler = audiosr.AudioSRUpsampler
    assert upsampler.sample_rate == 48000
    assert callable(upsampler.from_pretrained) and callable(upsampler.upsample)


@pytest.mark.parametrize("backend", ["audioldm", "audioldm2"])
def test_loaded_checkpoint_gives_the_same_audio(backend, parts, checkpoints, clip):
    cls = AudioLDMInpainter if backend == "audioldm" else AudioLDM2Inpainter
    loaded = cls.from_pretrained(checkpoints[backend], device="cpu")
    if backend == "audioldm2":
        assert type(loaded.language_model).__name__ == "GPT2LMHeadModel"  # published folder says GPT2Model
    direct = cls(**parts[backend])
    audio = [resample(clip, RATE, 16000)[:16000]]
    args = (audio, [(0.3, 0.6)], ["a cat"], [5])
    got, want = loaded.inpaint(*args, steps=2, guidance=3.0)[0], direct.inpaint(*args, steps=2, guidance=3.0)[0]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())  # weights loaded, not re-drawn


def test_factory_reads_recipe_params(checkpoints, tmp_path):
    clap = str(tiny_models.save_clap(tmp_path / "clap"))
    recipe = get_recipe("fakesound-zeroshot", checkpoint=str(checkpoints["audioldm"]), margin_s=0.12, clap=clap)
    made = create_regenerators(recipe, device="cpu")
    regen = made["audioldm"]
    assert isinstance(regen, InpaintRegenerator) and regen.name == "audioldm"
    assert (regen.steps, regen.guidance, regen.eta, regen.margin_s) == (200, 2.5, 1.0, 0.12)
    assert regen.options.n_candidates == 3 and regen.options.scorer.name == clap  # upstream's best-of-3
    assert regen.upsampler is None and regen.checkpoint == str(checkpoints["audioldm"])
    easy = dataclasses.replace(get_recipe("fakesound-easy", checkpoint=str(checkpoints["audioldm2"])), audiosr=None)
    regen2 = create_inpaint_regenerator("audioldm2", easy, device="cpu")
    assert regen2.name == "audioldm2" and (regen2.steps, regen2.guidance) == (200, 2.5)
    assert regen2.options.scorer.name == "text_encoder" and regen2.inpainter.unconditional == "zeros"
    # An AudioLDM 2 folder given to the AudioLDM backend is refused at start-up.
    with pytest.raises(CheckpointUnavailableError, match="AudioLDM2Pipeline"):
        create_inpaint_regenerator("audioldm", easy, device="cpu")


def test_offline_missing_checkpoint_fails_at_startup_with_one_actionable_line(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    recipe = get_recipe("fakesound-zeroshot", checkpoint="fakesound-tests/no-such-audioldm")
    began = time.monotonic()
    with pytest.raises(CheckpointUnavailableError) as caught:
        create_regenerators(recipe, device="cpu")
    assert time.monotonic() - began < 10  # no network retries
    message = str(caught.value)
    assert "\n" not in message
    for needed in (
        "fakesound-tests/no-such-audioldm",
        "hf download",
        "huggingface-cli download",
        "HF_HOME",
        "HF_HUB_OFFLINE",
        "local",
    ):
        assert needed in message
    with pytest.raises(CheckpointUnavailableError, match="cvssp/audioldm2"):
        AudioLDM2Inpainter.from_pretrained("cvssp/audioldm2", device="cpu", cache_dir=str(tmp_path))


def test_broken_local_checkpoints_fail_clearly(checkpoints, tmp_path):
    with pytest.raises(CheckpointUnavailableError, match="neither an existing folder"):
        AudioLDMInpainter.from_pretrained(str(tmp_path / "missing" / "deeper" / "x"))
    broken = shutil.copytree(checkpoints["audioldm"], tmp_path / "broken")
    shutil.rmtree(broken / "tokenizer")
    with pytest.raises(CheckpointUnavailableError, match="tokenizer/"):
        AudioLDMInpainter.from_pretrained(broken)


def test_empty_tokenizer_is_refused_at_construction(parts, tmp_path):
    from transformers import RobertaTokenizer

    vocab = tmp_path / "vocab.json"
    vocab.write_text('{"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}')
    (tmp_path / "merges.txt").write_text("#version: 0.2\n")
    empty = RobertaTokenizer(str(vocab), str(tmp_path / "merges.txt"))
    assert len(empty) == 5
    with pytest.raises(CheckpointUnavailableError, match="only 5 tokens"):
        AudioLDMInpainter(**{**parts["audioldm"], "tokenizer": empty})
    with pytest.raises(CheckpointUnavailableError, match="tokenizer_2"):
        AudioLDM2Inpainter(**{**parts["audioldm2"], "tokenizer_2": empty})
