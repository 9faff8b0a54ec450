"""Run the upstream packages on small inputs and save golden fixtures our implementation must reproduce.

Runs ONLY in the isolated oracle environment (``bash tests/oracle/build_env.sh``: audiosr 0.0.7, audioldm 0.1.1 and
their old numpy/librosa/transformers pins), never in the project venv, and imports nothing of the project except
``golden_weights.py`` (NumPy only). Usage, from the repository root::

    /work/oracle-venv/bin/python tests/oracle/make_golden.py --work /tmp/oracle-work --out tests/fixtures/oracle

``--work`` is a scratch directory: upstream's CLAP loads a tokenizer (and a config) named ``roberta-base`` from
the working directory, so a small local one is written there first (no hub access is needed or attempted).

Every upstream parameter is overwritten with ``golden_weights.weight(upstream key, shape)``, so a fixture stores
key names and shapes, not weights; our test rebuilds the same upstream-format state dict, converts it with our
own key conversion and loads it. Upstream draws its noise from torch's global generator after its own
``seed_everything(seed)``; every draw's shape is recorded with the first values, so our side regenerates the
same stream from the seed and checks it did.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from golden_weights import input_wave, stub_eps, text_embedding, weight

AUDIOSR_SEED = 42
AUDIOSR_SECONDS = 0.5
AUDIOSR_STEPS = 4  # upstream indexes past its schedule unless steps divide 1000
AUDIOSR_GUIDANCE = 3.5
#: Upstream key prefixes our AudioSR conversion maps (the rest: CLAP, EMA, schedule buffers, is not inference).
AUDIOSR_PREFIXES = ("model.diffusion_model.", "first_stage_model.", "cond_stage_models.0.")
FINGERPRINT = 8


def write_roberta_folder(work: Path) -> None:
    """``./roberta-base``: a byte-level BPE vocabulary with RoBERTa's special tokens, and a one-layer config."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import RobertaConfig, RobertaModel

    folder = work / "roberta-base"
    folder.mkdir(parents=True, exist_ok=True)
    tokens = ["<s>", "<pad>", "</s>", "<unk>", *sorted(ByteLevel.alphabet()), "<mask>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 512}))
    config = RobertaConfig(vocab_size=len(tokens), num_hidden_layers=1, intermediate_size=64,
                           max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5)  # fmt: skip
    RobertaModel(config).save_pretrained(folder)  # audioldm's CLAP loads weights too (replaced by a stand-in)


@contextmanager
def recording_randn():
    """Record every ``torch.randn`` draw (shape and first values) while upstream runs."""
    draws: list[dict] = []
    original = torch.randn

    def randn(*args, **kwargs):
        out = original(*args, **kwargs)
        draws.append({"shape": list(out.shape), "first": out.flatten()[:FINGERPRINT].tolist()})
        return out

    torch.randn = randn
    try:
        yield draws
    finally:
        torch.randn = original


@contextmanager
def recording_choice():
    """Record upstream's ``np.random.choice`` picks (the low-pass filter family)."""
    picks: list[str] = []
    original = np.random.choice

    def choice(options, *args, **kwargs):
        out = original(options, *args, **kwargs)
        picks.append(str(out))
        return out

    np.random.choice = choice
    try:
        yield picks
    finally:
        np.random.choice = original


def overwrite_parameters(model: torch.nn.Module, prefixes: tuple[str, ...]) -> dict[str, list[int]]:
    """Give every parameter under ``prefixes`` its ``golden_weights.weight``; returns {key: shape}."""
    shapes = {}
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.startswith(prefixes):
                param.copy_(torch.from_numpy(weight(name, param.shape)))
                shapes[name] = list(param.shape)
    return shapes


def tiny_audiosr_config():
    """Upstream ``default_audioldm_config("basic")`` with tiny widths (GroupNorm 32 everywhere: widths >= 32)."""
    import audiosr.utilities.model as upstream_model
    from audiosr.utils import default_audioldm_config

    config = default_audioldm_config("basic")
    params = config["model"]["params"]
    params["device"] = "cpu"
    params["channels"] = 4
    unet = params["unet_config"]["params"]
    unet.update(in_channels=8, out_channels=4, model_channels=32, channel_mult=[1, 1], num_res_blocks=1,
                attention_resolutions=[2], num_head_channels=16)  # fmt: skip
    condition = params["cond_stage_config"]["concat_lowpass_cond"]["params"]
    vaes = [params["first_stage_config"], condition["first_stage_config"]]
    for vae in vaes:
        vae["params"]["ddconfig"].update(ch=32, ch_mult=[1, 1, 2, 2], num_res_blocks=1, z_channels=4)
        vae["params"]["embed_dim"] = 4
        vae["params"].pop("reload_from_ckpt", None)
    vocoder = upstream_model.get_vocoder_config_48k()
    vocoder.update(upsample_initial_channel=32, resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3, 5]])
    upstream_model.get_vocoder_config_48k = lambda: dict(vocoder)
    ours = {  # the same architecture in our config's argument names (regenerate/audiosr/config.py)
        "unet": {"in_channels": 8, "out_channels": 4, "model_channels": 32, "channel_mult": [1, 1],
                 "num_res_blocks": 1, "attention_resolutions": [2], "num_head_channels": 16},
        "vae": {"block_out_channels": [32, 32, 64, 64], "layers_per_block": 1, "latent_channels": 4,
                "norm_num_groups": 32},
        "vocoder": {"upsample_initial_channel": 32, "resblock_kernel_sizes": [3],
                    "resblock_dilation_sizes": [[1, 3, 5]]},
    }  # fmt: skip
    return config, ours


@contextmanager
def soundfile_loading():
    """torchaudio 2.11's ``load`` needs torchcodec (not installable offline): read the (float, 48 kHz) test file
    with soundfile instead; upstream's 48 kHz -> 48 kHz resample is then an identity."""
    import soundfile
    import torchaudio

    original = torchaudio.load

    def load(path, *args, **kwargs):
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        return torch.from_numpy(data.T.copy()), rate

    torchaudio.load = load
    try:
        yield
    finally:
        torchaudio.load = original


def audiosr_golden(out: Path, work: Path, real_size: bool = False) -> None:
    """Upstream ``audiosr.super_resolution`` (``make_batch_for_super_resolution`` then ``generate_batch``) on a
    0.5 s band-limited signal, tiny random model, 4 DDIM steps, guidance 3.5."""
    import soundfile
    from audiosr.latent_diffusion.models.ddpm import LatentDiffusion
    from audiosr.pipeline import super_resolution

    if real_size:  # the published architecture (1.3 B parameters with CLAP and EMA; minutes on a CPU)
        from audiosr.utils import default_audioldm_config

        config, ours = default_audioldm_config("basic"), {}
        config["model"]["params"]["device"] = "cpu"
    else:
        config, ours = tiny_audiosr_config()
    torch.manual_seed(0)
    model = LatentDiffusion(**config["model"]["params"]).eval()
    shapes = overwrite_parameters(model, AUDIOSR_PREFIXES)
    with torch.no_grad():
        model.scale_factor.fill_(0.6)
    wave = input_wave(round(AUDIOSR_SECONDS * 48000), 48000, seed=1)
    stages: dict[str, object] = {}
    postprocessing = model.postprocessing

    def recording_postprocessing(out_batch, x_batch):
        import librosa

        x = x_batch[0, 0].cpu().numpy()
        cut = model._get_cutoff_index_np(x)
        gt, gen = librosa.stft(x), librosa.stft(out_batch[0, 0])
        stages.update(cutoff_bin=int(cut), ratio=float(np.sum(np.abs(gt[cut])) / np.sum(np.abs(gen[cut]))))
        stages["vocoder_peak"] = float(np.abs(out_batch).max())
        return postprocessing(out_batch, x_batch)

    model.postprocessing = recording_postprocessing
    mel_replace = model.mel_replace_ops

    def recording_mel_replace(samples, lowpass_mel):
        stages["mel_cutoff_bin"] = int(model._locate_cutoff_freq(torch.exp(lowpass_mel[0])))
        stages["generated_mel"] = [float(samples.mean()), float(samples.std())]
        return mel_replace(samples, lowpass_mel)

    model.mel_replace_ops = recording_mel_replace
    path = work / "audiosr_input.wav"
    soundfile.write(path, wave, 48000, subtype="FLOAT")
    with soundfile_loading(), recording_randn() as draws, recording_choice() as picks:
        result = super_resolution(model, str(path), seed=AUDIOSR_SEED, ddim_steps=AUDIOSR_STEPS,
                                  guidance_scale=AUDIOSR_GUIDANCE)  # fmt: skip
    result = np.asarray(result, dtype=np.float32).reshape(-1)
    meta = {
        "what": "upstream audiosr super_resolution, tiny random model, on golden_weights.input_wave(24000, 48000, 1)",
        "seed": AUDIOSR_SEED, "seconds": AUDIOSR_SECONDS, "steps": AUDIOSR_STEPS, "guidance": AUDIOSR_GUIDANCE,
        "eta": 1.0, "scale_factor": 0.6, "lowpass": picks, "stages": stages, "noise": draws, "config": ours,
        "shapes": shapes,
        "versions": versions(),
    }  # fmt: skip
    name = "audiosr_real" if real_size else "audiosr_tiny"
    (out / f"{name}.json").write_text(json.dumps(meta))
    np.savez_compressed(out / f"{name}.npz", output=result[: len(wave)])
    print(f"audiosr: {len(shapes)} keys, {len(draws)} noise draws, filter {picks}, stages {stages}")


AUDIOLDM_SEED = 42
AUDIOLDM_STEPS = 200
AUDIOLDM_GUIDANCE = 2.5
AUDIOLDM_CANDIDATES = 3
AUDIOLDM_BATCH = 2
AUDIOLDM_MASK = (0.10, 0.15)
AUDIOLDM_CAPTION = "a dog barks while rain falls"
AUDIOLDM_LATENT = (8, 256, 16)
AUDIOLDM_SCALE = 0.9


@contextmanager
def recording_randn_like(draws: list[dict]):
    """Also record ``torch.randn_like`` (upstream's ``q_sample`` noise), into the same list."""
    original = torch.randn_like

    def randn_like(*args, **kwargs):
        out = original(*args, **kwargs)
        draws.append({"shape": list(out.shape), "first": out.flatten()[:FINGERPRINT].tolist(), "like": True})
        return out

    torch.randn_like = randn_like
    try:
        yield
    finally:
        torch.randn_like = original


class StubText(torch.nn.Module):
    """Stands in for AudioLDM's CLAP condition model: fixed unit embeddings per caption, and fixed similarities."""

    embed_mode = "text"

    def forward(self, texts):
        return torch.stack([torch.from_numpy(text_embedding(t)) for t in texts])[:, None]

    def get_unconditional_condition(self, batchsize):
        return torch.from_numpy(text_embedding("")).expand(batchsize, 1, -1).clone()

    def cos_similarity(self, waveform, text):
        return torch.from_numpy(weight("stub.similarity", (len(text), 1))[:, 0])


class StubFilmUNet(torch.nn.Module):
    """Stands in for the FiLM UNet: ``golden_weights.stub_eps`` with the text embedding as ``y``."""

    def __init__(self):
        super().__init__()
        self.w = torch.from_numpy(weight("stub.film", (512, 1))[:, 0])

    def forward(self, x, t, y=None):
        return stub_eps(x, t, y, self.w)


def audioldm_golden(out: Path, work: Path) -> None:
    """Upstream ``audioldm.super_resolution_and_inpainting`` (-> ``generate_sample_masked``: posterior sample of the
    clip's latent, mask, best of 3 candidates, 200 masked DDIM steps, guidance 2.5, eta 1) with stand-ins for the
    networks: fixed posterior (VAE encoder), ``StubFilmUNet``, ``StubText``; the latents reaching the VAE decoder
    and the chosen candidate rows are recorded."""
    import soundfile
    from audioldm import pipeline as upstream_pipeline
    from audioldm.latent_diffusion.ddim import DDIMSampler
    from audioldm.variational_autoencoder.distributions import DiagonalGaussianDistribution

    # audioldm 0.1.1's sampler moves its schedule to "cuda" unconditionally: keep it where it is (CPU)
    DDIMSampler.register_buffer = lambda self, name, attr: setattr(self, name, attr)

    torch.manual_seed(0)
    model = upstream_pipeline.LatentDiffusion(**audioldm_config()["model"]["params"]).eval()
    model.cond_stage_model = StubText()
    model.model.diffusion_model = StubFilmUNet()
    if isinstance(model.scale_factor, torch.Tensor):
        model.scale_factor.fill_(AUDIOLDM_SCALE)
    else:
        model.scale_factor = AUDIOLDM_SCALE
    mean = torch.from_numpy(weight("stub.posterior.mean", AUDIOLDM_LATENT))
    logvar = torch.from_numpy(-2.0 + weight("stub.posterior.logvar", (*AUDIOLDM_LATENT, 1))[..., 0])

    def encode(x):
        return DiagonalGaussianDistribution(torch.cat([mean, logvar])[None].expand(x.shape[0], -1, -1, -1))

    record: dict[str, object] = {}

    def decode_first_stage(z):
        record["latents"] = z.detach().clone()
        return torch.zeros(z.shape[0], 1, 1024, 64)

    def mel_to_waveform(mel):
        return np.arange(mel.shape[0], dtype=np.float32)[:, None, None] * np.ones((1, 1, 16), np.float32)

    model.first_stage_model.encode = encode
    model.decode_first_stage = decode_first_stage
    model.mel_spectrogram_to_waveform = mel_to_waveform
    path = work / "audioldm_input.wav"
    soundfile.write(path, input_wave(160000, 16000, seed=2), 16000, subtype="FLOAT")
    with soundfile_loading(), recording_randn() as draws, recording_randn_like(draws):
        chosen = upstream_pipeline.super_resolution_and_inpainting(
            model, AUDIOLDM_CAPTION, original_audio_file_path=str(path), seed=AUDIOLDM_SEED,
            ddim_steps=AUDIOLDM_STEPS, duration=10.0, batchsize=AUDIOLDM_BATCH, guidance_scale=AUDIOLDM_GUIDANCE,
            n_candidate_gen_per_text=AUDIOLDM_CANDIDATES, time_mask_ratio_start_and_end=AUDIOLDM_MASK,
        )  # fmt: skip
    latents = record["latents"].numpy()
    meta = {
        "what": "upstream audioldm super_resolution_and_inpainting with stand-in networks (see make_golden.py)",
        "seed": AUDIOLDM_SEED, "steps": AUDIOLDM_STEPS, "guidance": AUDIOLDM_GUIDANCE, "eta": 1.0,
        "candidates": AUDIOLDM_CANDIDATES, "batch": AUDIOLDM_BATCH, "mask": AUDIOLDM_MASK,
        "caption": AUDIOLDM_CAPTION, "latent": AUDIOLDM_LATENT, "scale_factor": AUDIOLDM_SCALE,
        "chosen_rows": [int(c) for c in np.asarray(chosen)[:, 0, 0]], "noise": draws,
        "latent_stats": {"mean": latents.mean(axis=(1, 2, 3)).tolist(), "std": latents.std(axis=(1, 2, 3)).tolist()},
        "versions": versions(),
    }  # fmt: skip
    (out / "audioldm_inpaint.json").write_text(json.dumps(meta))
    np.savez_compressed(out / "audioldm_inpaint.npz", latents_every_8th_frame=latents[:, :, ::8, :])
    print(f"audioldm: {len(draws)} noise draws, chosen rows {meta['chosen_rows']}, latents {latents.shape}")


def audioldm_config() -> dict:
    """Upstream ``default_audioldm_config("audioldm-s-full")`` (its UNet, VAE and CLAP are replaced by stand-ins
    after construction, so their widths are shrunk to build fast; the latent shape is the real one)."""
    from audioldm.utils import default_audioldm_config

    config = default_audioldm_config("audioldm-s-full")
    params = config["model"]["params"]
    params["device"] = "cpu"
    params["cond_stage_key"] = "text"
    params["unet_config"]["params"].update(model_channels=32, channel_mult=[1, 1], num_res_blocks=1,
                                           attention_resolutions=[], num_head_channels=32)  # fmt: skip
    params["first_stage_config"]["params"]["ddconfig"].update(ch=32, ch_mult=[1, 1, 1], num_res_blocks=1)
    return config


def write_audioldm2_folders(work: Path) -> None:
    """``./google/flan-t5-large`` (a character Unigram T5 tokenizer, a one-layer 1024-wide config) and ``./gpt2``
    (a one-layer 768-wide config): audioldm2 builds these models from configs (random weights) and loads the T5
    tokenizer, all by these names, relative to the working directory."""
    import string

    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import GPT2Config, T5Config, T5TokenizerFast

    folder = work / "google" / "flan-t5-large"
    folder.mkdir(parents=True, exist_ok=True)
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    vocab += [(c, -1.0) for c in string.printable.strip()]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=2))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    T5TokenizerFast(tokenizer_object=tokenizer, extra_ids=0, eos_token="</s>", unk_token="<unk>",
                    pad_token="<pad>").save_pretrained(folder)  # fmt: skip
    T5Config(vocab_size=len(vocab), d_model=1024, d_kv=64, d_ff=64, num_layers=1, num_heads=16).save_pretrained(folder)
    GPT2Config(n_layer=1, n_embd=768, n_head=12).save_pretrained(work / "gpt2")


def audioldm2_golden(out: Path, work: Path) -> None:
    """Upstream audioldm2's classifier-free-guidance condition: ``get_unconditional_condition`` of every condition
    model of ``default_audioldm_config("audioldm2-full")`` (what ``generate_batch_masked`` passes as
    ``unconditional_conditioning``): shapes, which parts are exactly zero, the masks."""
    from audioldm2.latent_diffusion.models.ddpm import LatentDiffusion
    from audioldm2.utils import default_audioldm_config

    write_audioldm2_folders(work)
    config = default_audioldm_config("audioldm2-full")
    config["model"]["params"]["device"] = "cpu"
    torch.manual_seed(0)
    model = LatentDiffusion(**config["model"]["params"]).eval()
    batch = 3
    found = {}
    with torch.no_grad():
        for key, meta in model.cond_stage_model_metadata.items():
            uncond = model.cond_stage_models[meta["model_idx"]].get_unconditional_condition(batch)
            parts = uncond[key] if isinstance(uncond, dict) else uncond
            states, mask = parts
            found[key] = {
                "states_shape": list(states.shape), "states_all_zero": bool((states == 0).all()),
                "mask_shape": list(mask.shape), "mask_all_one": bool((mask == 1).all()),
                "rows_equal": bool(torch.equal(states[0], states[-1])),
            }  # fmt: skip
    meta = {"what": "audioldm2 get_unconditional_condition(3), audioldm2-full config", "batch": batch,
            "conditions": found, "versions": versions()}  # fmt: skip
    (out / "audioldm2_unconditional.json").write_text(json.dumps(meta, indent=1))
    print(f"audioldm2: {found}")


def versions() -> dict[str, str]:
    import importlib.metadata as md

    names = ("torch", "numpy", "librosa", "transformers", "audiosr", "audioldm", "audioldm2")
    return {p: md.version(p) for p in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, help="scratch working directory (gets ./roberta-base)")
    parser.add_argument("--out", required=True, help="fixture folder, e.g. tests/fixtures/oracle")
    parser.add_argument("--only", choices=["audiosr", "audiosr-real", "audioldm", "audioldm2"], nargs="+",
                        default=["audiosr", "audioldm", "audioldm2"], help="which fixtures (audiosr-real: minutes)")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(1)
    write_roberta_folder(work)
    os.chdir(work)
    if "audiosr" in args.only:
        audiosr_golden(out, work)
    if "audiosr-real" in args.only:
        audiosr_golden(out, work, real_size=True)
    if "audioldm" in args.only:
        audioldm_golden(out, work)
    if "audioldm2" in args.only:
        audioldm2_golden(out, work)


if __name__ == "__main__":
    main()
