"""AudioLDM (v1) inpainting: the CLAP text embedding conditions the UNet through FiLM (class embedding)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from transformers import ClapTextModelWithProjection, SpeechT5HifiGan

from regenerate.audioldm.clap_score import AUDIOLDM1_CLAP, ClapScorer
from regenerate.audioldm.inpainter import LatentInpainter
from regenerate.audioldm.loading import (
    check_tokenizer,
    load_part,
    load_shared_parts,
    pick_device,
    pick_dtype,
    resolve_checkpoint,
)
from regenerate.audioldm.mel import MelConfig


class AudioLDMInpainter(LatentInpainter):
    """AudioLDM components (``cvssp/audioldm-s-full-v2``, ``-m-full``, ``-l-full``, ...) and the inpainting call."""

    generator_name = "audioldm"

    def __init__(
        self,
        vae: AutoencoderKL,
        unet: UNet2DConditionModel,
        text_encoder: ClapTextModelWithProjection,
        tokenizer: Any,
        vocoder: SpeechT5HifiGan,
        scheduler: DDIMScheduler,
        mel_config: MelConfig | None = None,
    ):
        super().__init__(vae, unet, vocoder, scheduler, mel_config)
        check_tokenizer(tokenizer, "tokenizer", text_encoder.config.vocab_size)
        self.text_encoder = text_encoder.eval()
        self.tokenizer = tokenizer

    def clap_scorer(self, clap: str | None = None) -> ClapScorer:
        """Best-of-N scorer. The diffusers checkpoint keeps only CLAP's text tower (upstream ranks with the full CLAP
        of its ``.ckpt``), so the audio tower comes from a full CLAP checkpoint: ``laion/clap-htsat-unfused`` by
        default, the HTSAT-tiny + RoBERTa CLAP whose config diffusers' conversion gives this text encoder."""
        return ClapScorer.from_pretrained(clap or AUDIOLDM1_CLAP, self.device)

    def _denoising_modules(self) -> list[torch.nn.Module]:
        return [self.unet, self.text_encoder]

    @classmethod
    def from_pretrained(
        cls,
        id_or_path: str | Path,
        device: str = "auto",
        dtype: torch.dtype | str | None = None,
        cache_dir: str | None = None,
    ) -> AudioLDMInpainter:
        """Load a diffusers-format AudioLDM checkpoint by hub id (cache first) or local folder."""
        folder = resolve_checkpoint(id_or_path, "AudioLDMPipeline", cache_dir)
        torch_device = pick_device(device)
        half = pick_dtype(torch_device, dtype)
        inpainter = cls(
            **load_shared_parts(folder),
            unet=load_part(folder, "unet", lambda p: UNet2DConditionModel.from_pretrained(p, torch_dtype=half)),
            text_encoder=load_part(
                folder, "text_encoder", lambda p: ClapTextModelWithProjection.from_pretrained(p, dtype=half)
            ),
        )
        return inpainter.to(torch_device, half)

    @torch.no_grad()
    def encode_text(self, captions: Sequence[str], guidance: bool) -> dict[str, torch.Tensor]:
        """L2-normalised CLAP text embeddings (unconditional = the empty caption, as AudioLDM does)."""
        texts = ([""] * len(captions) if guidance else []) + list(captions)
        limit = min(self.tokenizer.model_max_length, self.text_encoder.config.max_position_embeddings - 2)
        tokens = self.tokenizer(texts, padding=True, truncation=True, max_length=limit, return_tensors="pt")
        device = self.text_encoder.device
        out = self.text_encoder(tokens.input_ids.to(device), attention_mask=tokens.attention_mask.to(device))
        embeds = F.normalize(out.text_embeds.float(), dim=-1).to(self.unet.dtype)
        return {"encoder_hidden_states": None, "class_labels": embeds}
