"""Tiny, randomly initialised AudioLDM / AudioLDM 2 / CLAP / AudioSR models (same classes as the published ones).

The one place tiny models are made: the ``debug-*`` recipes build them at start-up (the whole diffusion path runs
on CPU in seconds with no weights; the output is noise and the manifest says so) and the tests use them.
Everything here is built locally from configs: no hub access. The tokenizers have real (small) vocabularies:
a byte-level BPE vocabulary for the CLAP/RoBERTa tokenizer (every byte is a token, so any caption encodes)
and a character-level Unigram vocabulary for the T5 tokenizer. The mel front end stays AudioLDM's (16 kHz,
hop 160, 64 mel bins) so the vocoder keeps the published upsampling factor (5*4*2*2*2 = 160 = hop).
"""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path
from typing import Any

import torch
from diffusers import (
    AudioLDM2ProjectionModel,
    AudioLDM2UNet2DConditionModel,
    AutoencoderKL,
    DDIMScheduler,
    UNet2DConditionModel,
)
from tokenizers.pre_tokenizers import ByteLevel
from transformers import (
    ClapAudioConfig,
    ClapConfig,
    ClapFeatureExtractor,
    ClapModel,
    ClapTextConfig,
    ClapTextModelWithProjection,
    GPT2Config,
    GPT2LMHeadModel,
    RobertaTokenizer,
    SpeechT5HifiGan,
    SpeechT5HifiGanConfig,
    T5Config,
    T5EncoderModel,
    T5Tokenizer,
)

MAX_TOKENS = 32
# Three UNet blocks: the latent time axis must be a multiple of 4 (the real UNets need 8).
UNET_CHANNELS = (8, 8, 16)
#: What the AudioLDM and AudioLDM 2 tiny UNets share (they differ in their text conditioning).
UNET_LAYOUT: dict[str, Any] = {
    "sample_size": 16,
    "in_channels": 8,
    "out_channels": 8,
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    "block_out_channels": UNET_CHANNELS,
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "attention_head_dim": 2,
}


def roberta_tokenizer(folder: Path | None = None, max_length: int = MAX_TOKENS) -> RobertaTokenizer:
    """A byte-level BPE tokenizer with RoBERTa's special tokens and 256 byte tokens (no merges); its two files go
    to ``folder`` (a temporary one when None: the tokenizer keeps its vocabulary in memory)."""
    if folder is None:
        with tempfile.TemporaryDirectory() as tmp:
            return roberta_tokenizer(Path(tmp), max_length)
    folder.mkdir(parents=True, exist_ok=True)
    special = ["<s>", "<pad>", "</s>", "<unk>"]
    tokens = special + sorted(ByteLevel.alphabet()) + ["<mask>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return RobertaTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=max_length)


def t5_tokenizer(max_length: int = MAX_TOKENS) -> T5Tokenizer:
    """A character-level SentencePiece-style Unigram tokenizer with T5's special tokens."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(c, -1.0) for c in string.ascii_lowercase + string.digits + string.punctuation]
    pieces += [("▁" + c, -1.5) for c in string.ascii_lowercase]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=max_length)


def vae() -> AutoencoderKL:
    """Three blocks like the real VAE: 4x down-sampling in time and frequency, 8 latent channels."""
    return AutoencoderKL(
        in_channels=1,
        out_channels=1,
        down_block_types=["DownEncoderBlock2D"] * 3,
        up_block_types=["UpDecoderBlock2D"] * 3,
        block_out_channels=[8, 8, 16],
        layers_per_block=1,
        latent_channels=8,
        norm_num_groups=4,
        scaling_factor=0.9,
    )


def vocoder() -> SpeechT5HifiGan:
    """HiFi-GAN with the published up-sampling rates (x160) on 64 mel bins, a few channels wide."""
    torch.manual_seed(1)
    return SpeechT5HifiGan(
        SpeechT5HifiGanConfig(
            model_in_dim=64,
            sampling_rate=16000,
            upsample_initial_channel=32,
            upsample_rates=[5, 4, 2, 2, 2],
            upsample_kernel_sizes=[10, 8, 4, 4, 4],
            resblock_kernel_sizes=[3],
            resblock_dilation_sizes=[[1]],
            normalize_before=False,
            initializer_range=0.2,  # wide enough init that the random vocoder's output is audible (~0.1 rms)
        )
    )


def scheduler() -> DDIMScheduler:
    """AudioLDM's published DDIM schedule."""
    return DDIMScheduler(
        num_train_timesteps=1000,
        beta_start=0.0015,
        beta_end=0.0195,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )


def clap_text_config(vocab_size: int) -> ClapTextConfig:
    """A one-layer CLAP text tower (RoBERTa special-token ids) for a tokenizer of ``vocab_size``."""
    return ClapTextConfig(
        vocab_size=vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=MAX_TOKENS + 2,
        projection_dim=16,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )


def clap_feature_extractor() -> ClapFeatureExtractor:
    """CLAP's feature extractor with a hop long enough that 10 s give 61 frames (the tiny HTSAT takes <= 64)."""
    return ClapFeatureExtractor(feature_size=64, hop_length=8000)


def clap_model(vocab_size: int) -> ClapModel:
    """A tiny full CLAP (text and HTSAT audio towers) for a tokenizer of ``vocab_size``."""
    return ClapModel(
        ClapConfig(
            text_config=clap_text_config(vocab_size).to_dict(),
            audio_config=ClapAudioConfig(
                spec_size=64,
                window_size=4,
                num_mel_bins=64,
                intermediate_size=16,
                depths=[1, 1],
                num_attention_heads=[1, 1],
                num_hidden_layers=2,
                hidden_size=16,
                patch_embeds_hidden_size=8,
                projection_dim=16,
                patch_size=2,
                patch_stride=2,
                patch_embed_input_channels=4,
            ).to_dict(),
            projection_dim=16,
        )
    ).eval()


def audioldm_components(folder: Path | None = None, seed: int = 0) -> dict[str, Any]:
    """vae, unet, text_encoder, tokenizer, vocoder, scheduler of a tiny AudioLDM (CLAP text -> FiLM)."""
    torch.manual_seed(seed)
    tokenizer = roberta_tokenizer(folder / "roberta_vocab" if folder else None)
    text_encoder = ClapTextModelWithProjection(clap_text_config(len(tokenizer)))
    unet = UNet2DConditionModel(
        **UNET_LAYOUT,
        cross_attention_dim=UNET_CHANNELS,
        class_embed_type="simple_projection",
        projection_class_embeddings_input_dim=16,
        class_embeddings_concat=True,
    )
    return {
        "vae": vae(),
        "unet": unet,
        "text_encoder": text_encoder.eval(),
        "tokenizer": tokenizer,
        "vocoder": vocoder(),
        "scheduler": scheduler(),
    }


def audioldm2_components(folder: Path | None = None, seed: int = 0) -> dict[str, Any]:
    """The components of a tiny AudioLDM 2: CLAP + T5 -> projection -> GPT-2 -> two cross-attentions."""
    torch.manual_seed(seed)
    tokenizer = roberta_tokenizer(folder / "roberta_vocab" if folder else None)
    tokenizer_2 = t5_tokenizer()
    clap = clap_model(len(tokenizer))
    t5 = T5EncoderModel(T5Config(vocab_size=len(tokenizer_2), d_model=24, d_ff=32, d_kv=8, num_heads=2, num_layers=1))
    gpt2 = GPT2LMHeadModel(
        GPT2Config(n_embd=16, n_head=2, n_layer=1, vocab_size=64, n_positions=64, bos_token_id=0, eos_token_id=0)
    )
    gpt2.config.max_new_tokens = 4
    projection = AudioLDM2ProjectionModel(text_encoder_dim=16, text_encoder_1_dim=24, langauge_model_dim=16)
    unet = AudioLDM2UNet2DConditionModel(
        **UNET_LAYOUT,
        cross_attention_dim=([None, 16, 24],) * 3,
    )
    return {
        "vae": vae(),
        "unet": unet,
        "text_encoder": clap.eval(),
        "text_encoder_2": t5.eval(),
        "projection_model": projection,
        "language_model": gpt2.eval(),
        "tokenizer": tokenizer,
        "tokenizer_2": tokenizer_2,
        "vocoder": vocoder(),
        "scheduler": scheduler(),
        "feature_extractor": clap_feature_extractor(),
    }




def debug_inpainter(backend: str, seed: int = 0, **options: Any) -> Any:
    """A tiny random AudioLDM (``backend="audioldm"``) or AudioLDM 2 inpainter, named ``debug-<backend>`` so every
    manifest row it makes says its output is noise. ``options`` go to the inpainter (AudioLDM 2: unconditional)."""
    from regenerate.audioldm import AudioLDM2Inpainter, AudioLDMInpainter

    if backend == "audioldm":
        inpainter = AudioLDMInpainter(**audioldm_components(seed=seed), **options)
    elif backend == "audioldm2":
        inpainter = AudioLDM2Inpainter(**audioldm2_components(seed=seed), **options)
    else:
        raise KeyError(f"no debug model for backend {backend!r}")
    inpainter.generator_name = f"debug-{backend}"
    return inpainter


def debug_clap_scorer(seed: int = 0) -> Any:
    """A tiny random full CLAP scorer (for AudioLDM v1, whose checkpoint has no audio tower)."""
    from regenerate.audioldm.clap_score import ClapScorer

    torch.manual_seed(seed)
    tokenizer = roberta_tokenizer()
    return ClapScorer(clap_model(len(tokenizer)), tokenizer, clap_feature_extractor(), name="debug")


def debug_upsampler(device: str = "cpu", seed: int = 0) -> Any:
    """A tiny random AudioSR (same structure as the published one)."""
    from regenerate.audiosr import AudioSRUpsampler, tiny_audiosr_config

    return AudioSRUpsampler.from_config(tiny_audiosr_config(), device=device, seed=seed)
