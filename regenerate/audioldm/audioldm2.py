"""AudioLDM 2 inpainting: CLAP + Flan-T5 -> projection -> GPT-2 generated embeddings -> two cross-attentions.

Prompt encoding is diffusers' own ``AudioLDM2Pipeline.encode_prompt`` on our components. Its language-model
loop needs ``GPT2LMHeadModel`` (under transformers 5 a bare ``GPT2Model`` lacks the generation helpers), so
the published ``language_model/`` weights (saved as ``GPT2Model``) are loaded into ``GPT2LMHeadModel``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from diffusers import (
    AudioLDM2Pipeline,
    AudioLDM2ProjectionModel,
    AudioLDM2UNet2DConditionModel,
    AutoencoderKL,
    DDIMScheduler,
)
from transformers import (
    AutoTokenizer,
    ClapFeatureExtractor,
    ClapModel,
    GPT2LMHeadModel,
    SpeechT5HifiGan,
    T5EncoderModel,
)

from regenerate.audioldm.clap_score import ClapScorer
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

#: GPT-2 steps AudioLDM 2 generates when the config does not say (``max_new_tokens`` of cvssp/audioldm2).
DEFAULT_NEW_TOKENS = 8
#: Unconditional branch of classifier-free guidance: upstream's zero sequence, or diffusers' empty caption.
UNCONDITIONAL = ("zeros", "empty-caption")


class AudioLDM2Inpainter(LatentInpainter):
    """AudioLDM 2 components (``cvssp/audioldm2``, ``cvssp/audioldm2-large``, ...) and the inpainting call."""

    generator_name = "audioldm2"

    def __init__(
        self,
        vae: AutoencoderKL,
        unet: AudioLDM2UNet2DConditionModel,
        text_encoder: ClapModel,
        text_encoder_2: T5EncoderModel,
        projection_model: AudioLDM2ProjectionModel,
        language_model: GPT2LMHeadModel,
        tokenizer: Any,
        tokenizer_2: Any,
        vocoder: SpeechT5HifiGan,
        scheduler: DDIMScheduler,
        mel_config: MelConfig | None = None,
        unconditional: str = "zeros",
        feature_extractor: ClapFeatureExtractor | None = None,
    ):
        super().__init__(vae, unet, vocoder, scheduler, mel_config)
        if unconditional not in UNCONDITIONAL:
            raise ValueError(f"unconditional must be one of {UNCONDITIONAL}, got {unconditional!r}")
        self.unconditional = unconditional
        check_tokenizer(tokenizer, "tokenizer (CLAP)", text_encoder.config.text_config.vocab_size)
        check_tokenizer(tokenizer_2, "tokenizer_2 (T5)", text_encoder_2.config.vocab_size)
        if not hasattr(language_model, "_update_model_kwargs_for_generation"):
            raise TypeError(f"language_model must be a GPT2LMHeadModel, got {type(language_model).__name__}")
        self.text_encoder = text_encoder.eval()
        self.text_encoder_2 = text_encoder_2.eval()
        self.projection_model = projection_model.eval()
        self.language_model = language_model.eval()
        self.tokenizer = tokenizer
        self.tokenizer_2 = tokenizer_2
        self.feature_extractor = feature_extractor or ClapFeatureExtractor()
        self.max_new_tokens = int(getattr(language_model.config, "max_new_tokens", None) or DEFAULT_NEW_TOKENS)
        # Only used for its prompt encoding; it holds references to our modules, not copies.
        self._prompt_pipe = AudioLDM2Pipeline(
            vae=vae,
            text_encoder=text_encoder,
            text_encoder_2=text_encoder_2,
            projection_model=projection_model,
            language_model=language_model,
            tokenizer=tokenizer,
            tokenizer_2=tokenizer_2,
            feature_extractor=None,
            unet=unet,
            scheduler=scheduler,
            vocoder=vocoder,
        )
        self._prompt_pipe.set_progress_bar_config(disable=True)

    def clap_scorer(self, clap: str | None = None) -> ClapScorer:
        """Best-of-N scorer: the pipeline's own CLAP (as upstream, which ranks with the conditioning CLAP), unless
        ``clap`` names another checkpoint."""
        if clap:
            return ClapScorer.from_pretrained(clap, self.device)
        return ClapScorer(self.text_encoder, self.tokenizer, self.feature_extractor, name="text_encoder")

    def _denoising_modules(self) -> list[torch.nn.Module]:
        return [self.unet, self.text_encoder, self.text_encoder_2, self.projection_model, self.language_model]

    @classmethod
    def from_pretrained(
        cls,
        id_or_path: str | Path,
        device: str = "auto",
        dtype: torch.dtype | str | None = None,
        cache_dir: str | None = None,
        unconditional: str = "zeros",
    ) -> AudioLDM2Inpainter:
        """Load a diffusers-format AudioLDM 2 checkpoint by hub id (cache first) or local folder."""
        folder = resolve_checkpoint(id_or_path, "AudioLDM2Pipeline", cache_dir)
        torch_device = pick_device(device)
        half = pick_dtype(torch_device, dtype)
        language_config = json.loads((folder / "language_model" / "config.json").read_text())
        inpainter = cls(
            **load_shared_parts(folder),
            unet=load_part(
                folder, "unet", lambda p: AudioLDM2UNet2DConditionModel.from_pretrained(p, torch_dtype=half)
            ),
            text_encoder=load_part(folder, "text_encoder", lambda p: ClapModel.from_pretrained(p, dtype=half)),
            text_encoder_2=load_part(folder, "text_encoder_2", lambda p: T5EncoderModel.from_pretrained(p, dtype=half)),
            projection_model=load_part(
                folder, "projection_model", lambda p: AudioLDM2ProjectionModel.from_pretrained(p, torch_dtype=half)
            ),
            language_model=load_part(
                folder, "language_model", lambda p: GPT2LMHeadModel.from_pretrained(p, dtype=half)
            ),
            tokenizer_2=load_part(folder, "tokenizer_2", AutoTokenizer.from_pretrained),
            feature_extractor=load_part(folder, "feature_extractor", ClapFeatureExtractor.from_pretrained)
            if (folder / "feature_extractor").is_dir()
            else None,
            unconditional=unconditional,
        )
        if language_config.get("max_new_tokens"):
            inpainter.max_new_tokens = int(language_config["max_new_tokens"])
        return inpainter.to(torch_device, half)

    @torch.no_grad()
    def encode_text(self, captions: Sequence[str], guidance: bool) -> dict[str, torch.Tensor]:
        """T5 states, their mask and GPT-2 generated states (unconditional rows first when ``guidance``).

        Each caption is encoded on its own (the empty caption once): batching prompts in diffusers pads the
        T5 tokens inside the GPT-2 input, which shifts GPT-2's positions, so a caption's embedding would depend
        on the other captions of its batch. The T5 states are then zero-padded and masked for the UNet.

        Unconditional rows are upstream's ``get_unconditional_condition``: T5 states of the empty caption (mask of
        ones) and, for the generated sequence, zeros of the generated shape (what the UNet was trained with);
        ``unconditional="empty-caption"`` runs the empty caption through GPT-2 instead, as diffusers does.
        """
        rows = ([""] * len(captions) if guidance else []) + list(captions)
        encoded = {text: self._encode_caption(text) for text in dict.fromkeys(rows)}
        longest = max(t5.shape[1] for t5, _ in encoded.values())
        t5_states = torch.zeros(len(rows), longest, encoded[rows[0]][0].shape[2], device=self.device)
        t5_mask = torch.zeros(len(rows), longest, dtype=torch.long, device=self.device)
        for row, text in enumerate(rows):
            t5, _ = encoded[text]
            t5_states[row, : t5.shape[1]] = t5[0]
            t5_mask[row, : t5.shape[1]] = 1
        generated = torch.cat([encoded[text][1] for text in rows])
        if guidance and self.unconditional == "zeros":
            generated[: len(captions)] = 0.0
        return {
            "encoder_hidden_states": generated.to(self.unet.dtype),
            "encoder_hidden_states_1": t5_states.to(self.unet.dtype),
            "encoder_attention_mask_1": t5_mask,
        }

    def _encode_caption(self, caption: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(T5 states ``[1, tokens, d]``, GPT-2 generated states ``[1, max_new_tokens, d]``) of one caption."""
        t5, _, generated = self._prompt_pipe.encode_prompt(
            prompt=[caption],
            device=self.device,
            num_waveforms_per_prompt=1,
            do_classifier_free_guidance=False,
            max_new_tokens=self.max_new_tokens,
        )
        return t5.float(), generated.float()
